// status.cc — the thread-local error message behind set_error / last_error_message.
#include "status.h"

namespace entrena {

static thread_local char g_message[512] = {0};

const char* last_error_message() { return g_message; }

Status set_error(Status s, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(g_message, sizeof g_message, fmt, args);
  va_end(args);
  return s;
}

}  // namespace entrena
