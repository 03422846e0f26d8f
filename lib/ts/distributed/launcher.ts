/**
 * launcher.ts — the world a process launcher describes in the environment, read without MPI:
 * OpenMPI's mpirun (OMPI_COMM_WORLD_*), MPICH/Intel MPI's Hydra (PMI_RANK, PMI_SIZE,
 * MPI_LOCALRANKID, MPI_LOCALNRANKS) and Slurm's srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID,
 * SLURM_NTASKS_PER_NODE). Outside a launcher: a world of one.
 */

/** What the launcher says about this process. */
export interface LauncherWorld {
  rank: number;
  worldSize: number;
  localRank: number;
  /** Processes of this job on this machine. */
  localWorldSize: number;
  /** Which launcher set the variables; null outside one. */
  launcher: 'openmpi' | 'hydra' | 'slurm' | null;
}

function int(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The world described by `env` (default `process.env`).
 * @example launcherWorld({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '2' }) // { rank: 1, worldSize: 2, … }
 */
export function launcherWorld(env: NodeJS.ProcessEnv = process.env): LauncherWorld {
  const ompiSize = int(env, 'OMPI_COMM_WORLD_SIZE');
  if (ompiSize !== undefined) {
    return {
      rank: int(env, 'OMPI_COMM_WORLD_RANK') ?? 0, worldSize: ompiSize,
      localRank: int(env, 'OMPI_COMM_WORLD_LOCAL_RANK') ?? 0, localWorldSize: int(env, 'OMPI_COMM_WORLD_LOCAL_SIZE') ?? ompiSize, launcher: 'openmpi',
    };
  }
  const pmiSize = int(env, 'PMI_SIZE');
  if (pmiSize !== undefined) {
    return {
      rank: int(env, 'PMI_RANK') ?? 0, worldSize: pmiSize,
      localRank: int(env, 'MPI_LOCALRANKID') ?? 0, localWorldSize: int(env, 'MPI_LOCALNRANKS') ?? pmiSize, launcher: 'hydra',
    };
  }
  const slurmSize = int(env, 'SLURM_NTASKS');
  if (slurmSize !== undefined && int(env, 'SLURM_PROCID') !== undefined) {
    // SLURM_NTASKS_PER_NODE may read "2(x3)" or "2,1": the first number is this node's share when uniform.
    const perNode = Number.parseInt(env.SLURM_NTASKS_PER_NODE ?? '', 10);
    return {
      rank: int(env, 'SLURM_PROCID') ?? 0, worldSize: slurmSize,
      localRank: int(env, 'SLURM_LOCALID') ?? 0, localWorldSize: Number.isInteger(perNode) && perNode > 0 ? perNode : slurmSize, launcher: 'slurm',
    };
  }
  return { rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, launcher: null };
}
