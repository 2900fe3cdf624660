// Command-line parsing for xenstored.
#include "options.hpp"

#include <cstdlib>
#include <getopt.h>

#include "../engine/path.hpp"

namespace xs {

const char* usage_text() {
    return "Usage: xenstored [options]\n"
           "  -N, --no-fork              stay in the foreground\n"
           "  -D, --no-domain-init       serve the Unix sockets only (no rings, no event channels)\n"
           "  -T, --trace-file FILE      log every message in and out to FILE\n"
           "  -F, --pid-file FILE        write the daemon's pid to FILE\n"
           "  -V, --verbose              log to stderr\n"
           "  -E, --entry-nb N           nodes one domain may own (default 1000)\n"
           "  -S, --entry-size BYTES     size of one node for a domain (default 2048)\n"
           "  -W, --watch-nb N           watches per domain (default 128)\n"
           "  -t, --transaction N        open transactions per domain (default 10)\n"
           "  -A, --perm-nb N            permission entries per node (default 5)\n"
           "      --rundir DIR           socket directory (default $XENSTORED_RUNDIR or /var/run/xenstored)\n"
           "      --domain-socket D:PATH extra socket whose clients act as unprivileged domain D\n"
           "  -H, -h, --help             this text\n"
           "The main socket is $XENSTORED_PATH if set, else <rundir>/socket; the read-only socket\n"
           "is <rundir>/socket_ro.\n";
}

static bool number(const char* s, uint32_t& out) {
    unsigned long long v;
    if (!s || !parse_uint(s, UINT32_MAX, v)) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

bool parse_options(int argc, char** argv, Options& o, std::string& err) {
    enum { kRundir = 1000, kDomainSocket };
    static const option longopts[] = {
        {"no-fork", no_argument, nullptr, 'N'},
        {"no-domain-init", no_argument, nullptr, 'D'},
        {"trace-file", required_argument, nullptr, 'T'},
        {"pid-file", required_argument, nullptr, 'F'},
        {"verbose", no_argument, nullptr, 'V'},
        {"entry-nb", required_argument, nullptr, 'E'},
        {"entry-size", required_argument, nullptr, 'S'},
        {"watch-nb", required_argument, nullptr, 'W'},
        {"transaction", required_argument, nullptr, 't'},
        {"perm-nb", required_argument, nullptr, 'A'},
        {"rundir", required_argument, nullptr, kRundir},
        {"domain-socket", required_argument, nullptr, kDomainSocket},
        {"help", no_argument, nullptr, 'H'},
        {nullptr, 0, nullptr, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "NDT:F:VE:S:W:t:A:Hh", longopts, nullptr)) != -1) {
        switch (c) {
        case 'N': o.foreground = true; break;
        case 'D': o.no_domain_init = true; break;
        case 'T': o.trace_file = optarg; break;
        case 'F': o.pid_file = optarg; break;
        case 'V': o.verbose = true; break;
        case 'E': if (!number(optarg, o.quotas.nodes)) return err = "-E needs a number", false; break;
        case 'S': if (!number(optarg, o.quotas.node_size)) return err = "-S needs a number", false; break;
        case 'W': if (!number(optarg, o.quotas.watches)) return err = "-W needs a number", false; break;
        case 't': if (!number(optarg, o.quotas.transactions)) return err = "-t needs a number", false; break;
        case 'A': if (!number(optarg, o.quotas.permissions)) return err = "-A needs a number", false; break;
        case kRundir: o.rundir = optarg; break;
        case kDomainSocket: {
            std::string arg = optarg;
            auto colon = arg.find(':');
            uint32_t domid;
            if (colon == std::string::npos || !number(arg.substr(0, colon).c_str(), domid) ||
                domid == 0 || domid >= kDomidFirstReserved || colon + 1 == arg.size())
                return err = "--domain-socket needs DOMID:PATH with 0 < DOMID < 32752", false;
            o.domain_sockets.emplace_back(domid, arg.substr(colon + 1));
            break;
        }
        case 'H':
        case 'h': o.help = true; break;
        default: return err = "unknown option (see --help)", false;
        }
    }
    if (optind < argc) return err = std::string("unexpected argument: ") + argv[optind], false;
    // Where the clients look (libxenstore: $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket).
    if (o.rundir.empty()) {
        const char* env = std::getenv("XENSTORED_RUNDIR");
        o.rundir = env && *env ? env : "/var/run/xenstored";
    }
    const char* path = std::getenv("XENSTORED_PATH");
    o.socket_path = path && *path ? path : o.rundir + "/socket";
    return true;
}

}  // namespace xs
