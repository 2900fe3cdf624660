// Xen's public errno values, as returned (negated) by every hypercall.
// Source: pv-abi-core.md §4.4 (xen/include/public/errno.h; same numbers as x86 Linux).
#pragma once

#include <cstdint>

// On a hosted build (host tests, dom0 tools) <cerrno> defines these names as macros. Include it
// here, first, and retire the macros so Errno::EINVAL always means the enumerator below; the
// values are the same numbers as x86 Linux's, so nothing is lost.
#if __STDC_HOSTED__
#include <cerrno>
#undef EPERM
#undef ENOENT
#undef ESRCH
#undef EINTR
#undef EIO
#undef ENXIO
#undef E2BIG
#undef ENOEXEC
#undef EBADF
#undef ECHILD
#undef EAGAIN
#undef ENOMEM
#undef EACCES
#undef EFAULT
#undef EBUSY
#undef EEXIST
#undef EXDEV
#undef ENODEV
#undef ENOTDIR
#undef EISDIR
#undef EINVAL
#undef ENFILE
#undef EMFILE
#undef ENOSPC
#undef EROFS
#undef EMLINK
#undef EDOM
#undef ERANGE
#undef EDEADLK
#undef ENAMETOOLONG
#undef ENOLCK
#undef ENOSYS
#undef ENOTEMPTY
#undef ENODATA
#undef ETIME
#undef EBADMSG
#undef EOVERFLOW
#undef EILSEQ
#undef ERESTART
#undef ENOTSOCK
#undef EMSGSIZE
#undef EOPNOTSUPP
#undef EADDRINUSE
#undef EADDRNOTAVAIL
#undef ENOBUFS
#undef EISCONN
#undef ENOTCONN
#undef ETIMEDOUT
#undef ECONNREFUSED
#endif

namespace xen {

enum class Errno : std::int32_t {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,  // hypervisor-internal: must never reach a guest (§4.4)
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOSPC = 28,
    EROFS = 30,
    EMLINK = 31,
    EDOM = 33,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ENODATA = 61,
    ETIME = 62,
    EBADMSG = 74,
    EOVERFLOW = 75,
    EILSEQ = 84,
    ERESTART = 85,  // hypervisor-internal: must never reach a guest (§4.4)
    ENOTSOCK = 88,
    EMSGSIZE = 90,
    EOPNOTSUPP = 95,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
};

// The value a hypercall returns in rax for this error.
constexpr std::int64_t negated(Errno e) { return -static_cast<std::int64_t>(e); }

}  // namespace xen
