// `sottod admin ...`: operator commands that work on a data directory directly.
//
//   sottod admin invite create [--uses N] [--days D] --data-dir DIR   prints a new invite code
//   sottod admin account delete USERNAME --data-dir DIR                erases an account
//   sottod admin stats --data-dir DIR                                  prints store statistics
//
// Erasing needs the data directory's lock (it publishes in the key directory, which only one
// process may do): it refuses while a server runs there.
#pragma once

#include <iosfwd>

namespace sotto::server {

// argv[0] is "admin". Returns the process exit code: 0 done, 1 failure, 2 bad usage.
int run_admin(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace sotto::server
