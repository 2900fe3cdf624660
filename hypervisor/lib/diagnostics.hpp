// Diagnostics: where parsers and checkers report problems, one message at a time.
#pragma once

#include <cstddef>
#include <string_view>

#include "lib/format.hpp"

namespace xenolith {

// Parsers report every problem here and carry on, so one boot log shows all of them.
// The hypervisor forwards messages to the console; host tests collect them.
class Diagnostics {
public:
    // One complete message, without a trailing newline.
    virtual void report(std::string_view message) = 0;

    // Format a message (see format.hpp) and report it; long messages are truncated.
    template <typename... Args>
    void error(std::string_view fmt, const Args&... args) {
        FixedBuffer<kMessageCapacity> message;
        format_to(message, fmt, args...);
        ++m_count;
        report(message.view());
    }

    // How many messages were reported through error().
    std::size_t count() const { return m_count; }

    static constexpr std::size_t kMessageCapacity = 192;

protected:
    // Not deleted through a base pointer, and a virtual destructor would drag in operator delete.
    ~Diagnostics() = default;

private:
    std::size_t m_count = 0;
};

// Drops messages but still counts them (for callers that only need "was anything wrong").
class NullDiagnostics final : public Diagnostics {
public:
    void report(std::string_view) override {}
};

}  // namespace xenolith
