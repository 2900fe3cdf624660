// xenstored: the Xen store daemon for Xenolith's dom0.
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

#include "daemon.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
    xs::Options opts;
    std::string err;
    if (!xs::parse_options(argc, argv, opts, err)) {
        std::fprintf(stderr, "xenstored: %s\n", err.c_str());
        return 2;
    }
    if (opts.help) {
        std::fputs(xs::usage_text(), stdout);
        return 0;
    }
    xs::Daemon daemon(opts);
    if (!daemon.setup(err)) {
        std::fprintf(stderr, "xenstored: %s\n", err.c_str());
        return 1;
    }
    // Sockets exist before the parent returns, so a caller may connect as soon as we exit.
    if (!opts.foreground) {
        pid_t pid = fork();
        if (pid < 0) {
            std::perror("xenstored: fork");
            return 1;
        }
        if (pid > 0) _exit(0);
        setsid();
        daemon.after_fork();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            if (!opts.verbose) dup2(null, 2);
            if (null > 2) close(null);
        }
    }
    if (!opts.pid_file.empty()) {
        if (FILE* f = std::fopen(opts.pid_file.c_str(), "w")) {
            std::fprintf(f, "%d\n", static_cast<int>(getpid()));
            std::fclose(f);
        }
    }
    return daemon.run();
}
