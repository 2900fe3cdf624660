// linux-bench: the user-space side of the Linux guest comparison (tests/bench/linux/run). The
// same static binary runs in Linux booted natively under QEMU and in Linux as a PV domain on
// Xenolith; each test prints one line `LINUX-BENCH NAME VALUE UNIT COUNT` for the runner.
//
//   linux-bench [getpid] [compute] [fork] [exec] [pagefault]   (no argument: all of them)
//   linux-bench --exit                                         (the exec test's child: exits at once)
//
// Built by the runner with the host's gcc: `gcc -static -O2` (no libc in the initramfs).
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char* g_self = "/bin/linux-bench";

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare_doubles(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

// The best of ROUNDS rounds: under TCG a round is slowed down by whatever else runs on the host
// (the QEMU vCPU thread loses its host CPU), never sped up, so the fastest round is the one
// least disturbed.
enum { ROUNDS = 5 };
static double best(double* values) {
    qsort(values, ROUNDS, sizeof values[0], compare_doubles);
    return values[0];
}

// A round repeats the operation until at least `budget_ns` have passed; returns ns per operation.
typedef void (*Operation)(void);
static double time_round(Operation operation, unsigned batch, double budget_ns, unsigned long* count) {
    const double start = now_ns();
    unsigned long done = 0;
    double elapsed;
    do {
        for (unsigned i = 0; i < batch; ++i) {
            operation();
        }
        done += batch;
        elapsed = now_ns() - start;
    } while (elapsed < budget_ns);
    *count += done;
    return elapsed / (double)done;
}

static void report(const char* name, Operation operation, unsigned batch, double budget_ns, double scale,
                   const char* unit) {
    double values[ROUNDS];
    unsigned long count = 0;
    operation();  // warm up: page in the code, the libc paths, the page tables
    for (int round = 0; round < ROUNDS; ++round) {
        values[round] = time_round(operation, batch, budget_ns, &count);
    }
    printf("LINUX-BENCH %s %.1f %s %lu\n", name, best(values) / scale, unit, count);
    fflush(stdout);
}

// getpid through syscall(2), so that no libc could answer from a cache: one kernel entry and
// exit per call (for a 64-bit PV guest: syscall into the hypervisor, bounced to the guest kernel,
// back through HYPERVISOR_iret).
static void op_getpid(void) { syscall(SYS_getpid); }

// Pure computation: no system calls, no page faults. Fixed work, so the time itself compares.
static volatile uint64_t g_sink;
static void op_compute(void) {
    uint64_t x = 0x9e3779b97f4a7c15ull, sum = 0;
    for (unsigned i = 0; i < 100u * 1000 * 1000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += x * 0xff51afd7ed558ccdull;
    }
    g_sink = sum;
}

static void op_fork(void) {
    const pid_t child = fork();
    if (child == 0) {
        _exit(0);
    }
    if (child < 0 || waitpid(child, NULL, 0) != child) {
        perror("linux-bench: fork");
        exit(1);
    }
}

static void op_exec(void) {
    const pid_t child = fork();
    if (child == 0) {
        execl(g_self, g_self, "--exit", (char*)NULL);
        _exit(127);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "linux-bench: exec of %s failed\n", g_self);
        exit(1);
    }
}

// Touch every page of a fresh anonymous mapping once: one page fault each (a zeroed frame and
// a PTE write; for a PV guest the PTE write is validated by the hypervisor). Huge pages are
// turned off so that native Linux faults 4 KiB at a time too (PV guests have none).
enum { FAULT_PAGES = 1024 };
static void op_pagefault(void) {
    const size_t size = (size_t)FAULT_PAGES * 4096;
    char* area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        perror("linux-bench: mmap");
        exit(1);
    }
    madvise(area, size, MADV_NOHUGEPAGE);
    for (size_t offset = 0; offset < size; offset += 4096) {
        area[offset] = 1;
    }
    munmap(area, size);
}

// The page-fault figure leaves out mmap and munmap: time them alone and subtract.
static void op_map_unmap(void) {
    const size_t size = (size_t)FAULT_PAGES * 4096;
    char* area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        perror("linux-bench: mmap");
        exit(1);
    }
    madvise(area, size, MADV_NOHUGEPAGE);
    munmap(area, size);
}

static void run_pagefault(void) {
    double with[ROUNDS], without[ROUNDS];
    unsigned long count = 0, ignored = 0;
    op_pagefault();
    for (int round = 0; round < ROUNDS; ++round) {
        with[round] = time_round(op_pagefault, 1, 100e6, &count);
        without[round] = time_round(op_map_unmap, 16, 20e6, &ignored);
    }
    // Faulting in the pages also makes munmap free them: that is part of the fault's cost.
    printf("LINUX-BENCH pagefault %.1f ns/page %lu\n", (best(with) - best(without)) / FAULT_PAGES,
           count * FAULT_PAGES);
    fflush(stdout);
}

static void run(const char* name) {
    if (strcmp(name, "getpid") == 0) {
        report("getpid", op_getpid, 1000, 100e6, 1.0, "ns/call");
    } else if (strcmp(name, "compute") == 0) {
        report("compute", op_compute, 1, 0, 1e6, "ms");
    } else if (strcmp(name, "fork") == 0) {
        report("fork", op_fork, 2, 400e6, 1e3, "us/fork+exit+wait");
    } else if (strcmp(name, "exec") == 0) {
        report("exec", op_exec, 2, 400e6, 1e3, "us/fork+exec+exit+wait");
    } else if (strcmp(name, "pagefault") == 0) {
        run_pagefault();
    } else {
        fprintf(stderr, "linux-bench: unknown test %s (getpid, compute, fork, exec, pagefault)\n", name);
        exit(2);
    }
}

int main(int argc, char** argv) {
    if (argc == 2 && strcmp(argv[1], "--exit") == 0) {
        return 0;
    }
    if (argv[0][0] == '/') {
        g_self = argv[0];
    }
    // Everything on CPU 0, children included: a fork's child then runs on the parent's vCPU,
    // and the figures do not depend on waking the other (idle) vCPU with an IPI, which under
    // TCG costs whatever the host's scheduler makes it cost.
    cpu_set_t cpu0;
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    if (sched_setaffinity(0, sizeof cpu0, &cpu0) != 0) {
        perror("linux-bench: sched_setaffinity");
    }
    // The runner notes when it sees these two lines and compares the guest's clock with its own:
    // every figure here is only as good as CLOCK_MONOTONIC in the guest.
    printf("LINUX-BENCH-CLOCK start %.0f\n", now_ns());
    fflush(stdout);
    static const char* all[] = {"getpid", "compute", "fork", "exec", "pagefault"};
    if (argc == 1) {
        for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) {
            run(all[i]);
        }
    }
    for (int i = 1; i < argc; ++i) {
        run(argv[i]);
    }
    printf("LINUX-BENCH-CLOCK end %.0f\n", now_ns());
    fflush(stdout);
    return 0;
}
