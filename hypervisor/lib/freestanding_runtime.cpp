// What the compiler expects from a C/C++ runtime in a freestanding image: the mem* functions
// (GCC emits calls to them even without a libc) and the C++ ABI hooks for virtual functions and
// static objects. Only linked into the hypervisor, never into host tests.
#include <cstddef>
#include <cstdint>

#include "core/panic.hpp"

extern "C" {

void* memcpy(void* destination, const void* source, std::size_t count) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(count) : : "memory");
    return destination;
}

void* memmove(void* destination, const void* source, std::size_t count) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    if (d < s || d >= s + count)
        return memcpy(destination, source, count);
    while (count--)
        d[count] = s[count];
    return destination;
}

void* memset(void* destination, int value, std::size_t count) {
    auto* d = static_cast<unsigned char*>(destination);
    asm volatile("rep stosb" : "+D"(d), "+c"(count) : "a"(value) : "memory");
    return destination;
}

int memcmp(const void* a, const void* b, std::size_t count) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (std::size_t i = 0; i < count; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

std::size_t strlen(const char* text) {
    std::size_t length = 0;
    while (text[length])
        ++length;
    return length;
}

void __cxa_pure_virtual() { xenolith::panic("pure virtual function called"); }

// Static objects are never destroyed: the hypervisor does not exit.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void* __dso_handle = nullptr;

}  // extern "C"

// Only reachable through virtual destructors, which the hypervisor does not delete through.
void operator delete(void*) noexcept { xenolith::panic("operator delete called"); }
void operator delete(void*, std::size_t) noexcept { xenolith::panic("operator delete called"); }
