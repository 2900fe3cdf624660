// Result<T>: a value or a Xen errno; the hypervisor's one error type (no exceptions).
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include <xen/errno.hpp>

namespace xenolith {

using xen::Errno;

// The error half of a Result; lets `return Error{Errno::EINVAL};` convert to any Result<T>.
struct Error {
    Errno code;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(const T& value) : m_ok(true) { new (&m_value) T(value); }
    Result(T&& value) : m_ok(true) { new (&m_value) T(std::move(value)); }
    Result(Error error) : m_ok(false), m_error(error.code) {}
    Result(Errno error) : m_ok(false), m_error(error) {}

    Result(const Result& other) : m_ok(other.m_ok) { copy_from(other); }
    Result& operator=(const Result& other) {
        if (this != &other) {
            destroy();
            m_ok = other.m_ok;
            copy_from(other);
        }
        return *this;
    }
    ~Result() { destroy(); }

    bool is_ok() const { return m_ok; }
    bool is_error() const { return !m_ok; }
    explicit operator bool() const { return m_ok; }

    T& value() { return m_value; }
    const T& value() const { return m_value; }
    T& operator*() { return m_value; }
    const T& operator*() const { return m_value; }
    T* operator->() { return &m_value; }
    const T* operator->() const { return &m_value; }
    Errno error() const { return m_error; }

    T value_or(T fallback) const { return m_ok ? m_value : fallback; }

private:
    void copy_from(const Result& other) {
        if (other.m_ok)
            new (&m_value) T(other.m_value);
        else
            m_error = other.m_error;
    }
    void destroy() {
        if (m_ok)
            m_value.~T();
    }

    bool m_ok;
    union {
        T m_value;
        Errno m_error;
    };
};

// Result<void>: success or an errno.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() : m_ok(true), m_error(Errno::EINVAL) {}
    Result(Error error) : m_ok(false), m_error(error.code) {}
    Result(Errno error) : m_ok(false), m_error(error) {}

    bool is_ok() const { return m_ok; }
    bool is_error() const { return !m_ok; }
    explicit operator bool() const { return m_ok; }
    Errno error() const { return m_error; }

private:
    bool m_ok;
    Errno m_error;
};

inline Result<void> ok() { return {}; }

}  // namespace xenolith

// TRY(expr): evaluate a Result; on error return the error from the enclosing function,
// otherwise yield the value (GNU statement expression, as the hypervisor is built with GCC).
#define TRY(expr)                                                  \
    ({                                                             \
        auto _try_result = (expr);                                 \
        if (_try_result.is_error())                                \
            return ::xenolith::Error{_try_result.error()};         \
        ::xenolith::detail::take_value(std::move(_try_result));    \
    })

namespace xenolith::detail {
template <typename T>
T take_value(Result<T>&& r) { return std::move(r.value()); }
inline void take_value(Result<void>&&) {}
}  // namespace xenolith::detail
