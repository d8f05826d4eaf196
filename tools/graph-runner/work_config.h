// `graph-runner work --worker-config FILE`: the worker's settings in a file
// (configs/worker-*.yaml), under a top-level `work:` mapping whose keys are the command's flags
// with '_' for '-':
//
//   work:
//     source: amqps://RootManageSharedAccessKey@NAMESPACE.servicebus.windows.net/refine-requests
//     sink: amqps://RootManageSharedAccessKey@NAMESPACE.servicebus.windows.net/refine-results
//     password_env: SB_KEY        # the variable holding the key; never the key itself
//     max_in_flight: 32
//
// A flag given on the command line wins over the file. A password in the file is refused:
// secrets come from the environment only.
#pragma once

#include <functional>
#include <string>

#include "graph/status.h"
#include "tools/graph-runner/commands.h"

namespace refinery::cli {

// Applies the file's `work:` keys to `args`, skipping those whose flag `given(flag)` says the
// command line set. Errors are located (FILE:LINE:COL) and name the key.
Status ApplyWorkerConfig(const std::string& path,
                         const std::function<bool(const std::string& flag)>& given, WorkArgs* args);

}  // namespace refinery::cli
