/**
 * autocast_state.ts — whether `amp.autocast` is on, for which device and 16-bit dtype: one object
 * the door reads on every op (lib/ts/ops/door.ts) and lib/ts/amp sets. A leaf of the core.
 */
import type { DeviceName, HalfDType } from './dtype.js';

/** dtype null: autocast is off (the default, and inside `autocast({ enabled: false }, ...)`). */
export const autocastState: { device: DeviceName; dtype: HalfDType | null } = { device: 'cpu', dtype: null };
