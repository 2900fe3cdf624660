// Console output over COM1, serialised between CPUs.
#include "core/console.hpp"

#include "arch/x86_64/serial.hpp"
#include "core/irq_lock.hpp"
#include "lib/atomic.hpp"
#include "lib/spinlock.hpp"

namespace xenolith::console {

namespace {
arch::Uart16550 g_uart;
SpinLock g_lock;
LogLevel g_level = LogLevel::Info;
bool g_enabled = true;
Atomic<bool> g_panic_mode{false};

void put_raw(std::string_view text) {
    if (!g_enabled)
        return;
    for (char c : text) {
        if (c == '\n')
            g_uart.put('\r');
        g_uart.put(c);
    }
}
}  // namespace

void init_serial() { g_uart.init(arch::Uart16550::COM1, 115200); }
void set_log_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }
void set_enabled(bool enabled) { g_enabled = enabled; }

void write(std::string_view text) {
    if (g_panic_mode.load(MemoryOrder::Relaxed)) {
        put_raw(text);
        return;
    }
    IrqLockGuard guard(g_lock);  // handlers log too
    put_raw(text);
}

void enter_panic_mode() { g_panic_mode.store(true); }

std::size_t read_input(char* buffer, std::size_t size) {
    std::size_t count = 0;
    while (count < size && g_uart.read(buffer[count]))
        ++count;
    return count;
}

}  // namespace xenolith::console
