// The mem*/str* functions: from libc on the host, from lib/freestanding_runtime.cpp in the image.
#pragma once

#include <cstddef>

#if __STDC_HOSTED__
#include <cstring>
#else
extern "C" {
void* memcpy(void* destination, const void* source, std::size_t count);
void* memmove(void* destination, const void* source, std::size_t count);
void* memset(void* destination, int value, std::size_t count);
int memcmp(const void* a, const void* b, std::size_t count);
std::size_t strlen(const char* text);
}
namespace std {
using ::memcmp;
using ::memcpy;
using ::memmove;
using ::memset;
using ::strlen;
}  // namespace std
#endif
