// Panic: register dump, backtrace, stop all CPUs, exit or halt.
#include "core/panic.hpp"

#include "lib/atomic.hpp"

#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/debug_exit.hpp"
#include "arch/x86_64/trap_frame.hpp"
#include "core/backtrace.hpp"
#include "core/console.hpp"
#include "core/cpu.hpp"
#include "core/options.hpp"
#include "core/smp.hpp"

namespace xenolith {

namespace {
Atomic<int> g_panicking{0};


void dump_frame(console::Sink& out, const arch::TrapFrame& f) {
    format_to(out, "  rip {:016x}  cs  {:04x}  rflags {:016x}\n", f.rip, f.cs, f.rflags);
    format_to(out, "  rsp {:016x}  ss  {:04x}  error  {:016x}\n", f.rsp, f.ss, f.error_code);
    format_to(out, "  rax {:016x}  rbx {:016x}  rcx {:016x}\n", f.rax, f.rbx, f.rcx);
    format_to(out, "  rdx {:016x}  rsi {:016x}  rdi {:016x}\n", f.rdx, f.rsi, f.rdi);
    format_to(out, "  rbp {:016x}  r8  {:016x}  r9  {:016x}\n", f.rbp, f.r8, f.r9);
    format_to(out, "  r10 {:016x}  r11 {:016x}  r12 {:016x}\n", f.r10, f.r11, f.r12);
    format_to(out, "  r13 {:016x}  r14 {:016x}  r15 {:016x}\n", f.r13, f.r14, f.r15);
    format_to(out, "  cr0 {:016x}  cr2 {:016x}  cr3 {:016x}  cr4 {:016x}\n", arch::read_cr0(), arch::read_cr2(),
              arch::read_cr3(), arch::read_cr4());
}
}  // namespace

bool panicking() { return g_panicking.load(MemoryOrder::Relaxed) != 0; }

void panic_message(std::string_view message, const arch::TrapFrame* frame) {
    arch::cli();
    if (g_panicking.exchange(1) != 0) {
        // Another CPU is already reporting: stop here quietly.
        for (;;)
            arch::hlt();
    }
    console::enter_panic_mode();
    console::set_log_level(LogLevel::All);
    console::set_enabled(true);  // even with console=none: a panic must be seen
    stop_other_cpus();

    console::Sink out;
    format_to(out, "\n(hv) **** PANIC on CPU {}: {}\n", this_cpu().index, message);
    if (frame) {
        dump_frame(out, *frame);
        print_backtrace(frame->rip, frame->rbp);
    } else {
        print_backtrace(0, arch::read_rbp());
    }
    format_to(out, "(hv) **** all CPUs halted\n");
    shutdown_machine(ExitStatus::Panic);
}

void shutdown_machine(ExitStatus status) {
    if (options().test_exit)
        arch::qemu_debug_exit(static_cast<std::uint8_t>(status));
    arch::cli();
    for (;;)
        arch::hlt();
}

}  // namespace xenolith
