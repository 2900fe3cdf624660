// Command-line options of xenstored (following Xen's daemon where they apply).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../engine/engine.hpp"

namespace xs {

struct Options {
    bool foreground = false;        // -N / --no-fork
    bool no_domain_init = false;    // -D / --no-domain-init: sockets only, no rings
    bool verbose = false;           // -V / --verbose
    bool help = false;              // -H / -h / --help
    std::string trace_file;         // -T / --trace-file
    std::string pid_file;           // -F / --pid-file
    std::string rundir;             // --rundir, else $XENSTORED_RUNDIR, else /var/run/xenstored
    std::string socket_path;        // $XENSTORED_PATH, else <rundir>/socket
    // --domain-socket DOMID:PATH: an extra socket whose clients act as unprivileged DOMID
    // (lets tests and tools exercise guest permissions without a guest).
    std::vector<std::pair<uint32_t, std::string>> domain_sockets;
    Quotas quotas;
};

// Parse argv; on error returns false with a message in `err`.
bool parse_options(int argc, char** argv, Options& opts, std::string& err);
const char* usage_text();

}  // namespace xs
