// Shared helpers for host tests: a string sink and a Diagnostics that keeps every message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/diagnostics.hpp"
#include "lib/format.hpp"

namespace xenolith::test {

struct StringSink {
    std::string text;
    void put(char c) { text.push_back(c); }
};

template <typename... Args>
std::string fmt(std::string_view f, const Args&... args) {
    StringSink sink;
    format_to(sink, f, args...);
    return sink.text;
}

class CollectingDiagnostics final : public Diagnostics {
public:
    void report(std::string_view message) override { messages.emplace_back(message); }
    bool any_contains(std::string_view needle) const {
        for (const auto& m : messages)
            if (m.find(needle) != std::string::npos)
                return true;
        return false;
    }
    std::string all() const {
        std::string out;
        for (const auto& m : messages)
            out += m + "\n";
        return out;
    }
    std::vector<std::string> messages;
};

}  // namespace xenolith::test
