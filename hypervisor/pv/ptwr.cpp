// The writable-page-table emulator: decode the store, merge it into the PTE, validate, commit.
#include "pv/ptwr.hpp"

#include "arch/x86_64/guest_context.hpp"
#include "arch/x86_64/paging.hpp"
#include "domain/domain.hpp"
#include "mm/page_allocator.hpp"
#include "mm/pt_validate.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_memory.hpp"
#include "xen/mm.hpp"

namespace xenolith {

namespace {

enum class Operation : std::uint8_t { Mov, Xchg, Cmpxchg, And, Or, Xor, Bts, Btr, Btc };

struct Store {
    Operation operation = Operation::Mov;
    unsigned size = 0;          // bytes written: 1, 2, 4 or 8
    bool from_register = true;  // else from `immediate`
    unsigned reg = 0;
    std::uint64_t immediate = 0;
    unsigned length = 0;        // instruction bytes
};

std::uint64_t& gpr(arch::TrapFrame& f, unsigned index) {
    std::uint64_t* const registers[16] = {&f.rax, &f.rcx, &f.rdx, &f.rbx, &f.rsp, &f.rbp, &f.rsi, &f.rdi,
                                          &f.r8,  &f.r9,  &f.r10, &f.r11, &f.r12, &f.r13, &f.r14, &f.r15};
    return *registers[index & 15];
}

// Length of a memory ModRM operand (ModRM, SIB, displacement), or 0 for a register operand.
unsigned memory_operand_length(const std::uint8_t* p, unsigned available) {
    if (!available)
        return 0;
    const unsigned mod = p[0] >> 6, rm = p[0] & 7;
    if (mod == 3)
        return 0;
    unsigned length = 1;
    if (rm == 4) {
        if (available < 2)
            return 0;
        const unsigned base = p[1] & 7;
        ++length;
        if (mod == 0 && base == 5)
            length += 4;
    } else if (mod == 0 && rm == 5) {
        length += 4;  // RIP-relative
    }
    if (mod == 1)
        length += 1;
    else if (mod == 2)
        length += 4;
    return length <= available ? length : 0;
}

// Decode the forms §7.6 lists: mov, xchg, lock cmpxchg, lock and/or/xor, lock bts/btr/btc.
bool decode(const std::uint8_t* code, unsigned available, Store& out) {
    unsigned i = 0;
    bool operand16 = false;
    std::uint8_t rex = 0;
    // lock, operand size, and segment overrides (Linux patches `lock` into `ds` on one CPU; the
    // address itself comes from CR2, so segments do not matter).
    auto prefix = [](std::uint8_t b) {
        return b == 0xf0 || b == 0x66 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
    };
    while (i < available && prefix(code[i])) {
        operand16 |= code[i] == 0x66;
        ++i;
    }
    if (i < available && (code[i] & 0xf0) == 0x40)
        rex = code[i++];
    if (i >= available)
        return false;
    const unsigned wide = (rex & 8) ? 8 : operand16 ? 2 : 4;
    std::uint8_t op = code[i++];
    bool two_byte = false;
    if (op == 0x0f) {
        if (i >= available)
            return false;
        op = code[i++];
        two_byte = true;
    }
    if (i >= available)
        return false;
    const std::uint8_t modrm = code[i];
    const unsigned reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
    const unsigned operand = memory_operand_length(code + i, available - i);
    if (!operand)
        return false;
    i += operand;
    auto immediate = [&](unsigned bytes, bool sign_extend) -> bool {
        if (i + bytes > available)
            return false;
        std::uint64_t value = 0;
        for (unsigned b = 0; b < bytes; ++b)
            value |= std::uint64_t{code[i + b]} << (8 * b);
        if (sign_extend && (value >> (8 * bytes - 1)) & 1)
            value |= ~std::uint64_t{0} << (8 * bytes);
        out.immediate = value;
        out.from_register = false;
        i += bytes;
        return true;
    };
    out.reg = reg;
    out.from_register = true;
    if (!two_byte) {
        switch (op) {
        case 0x89: out.operation = Operation::Mov, out.size = wide; break;
        case 0x88: out.operation = Operation::Mov, out.size = 1; break;
        case 0x87: out.operation = Operation::Xchg, out.size = wide; break;
        case 0x21: out.operation = Operation::And, out.size = wide; break;
        case 0x09: out.operation = Operation::Or, out.size = wide; break;
        case 0x31: out.operation = Operation::Xor, out.size = wide; break;
        case 0x20: out.operation = Operation::And, out.size = 1; break;
        case 0x08: out.operation = Operation::Or, out.size = 1; break;
        case 0x30: out.operation = Operation::Xor, out.size = 1; break;
        case 0x86: out.operation = Operation::Xchg, out.size = 1; break;
        case 0xc7:
            if ((modrm >> 3 & 7) != 0 || !immediate(wide == 2 ? 2 : 4, true))
                return false;
            out.operation = Operation::Mov, out.size = wide;
            break;
        case 0xc6:
            if ((modrm >> 3 & 7) != 0 || !immediate(1, false))
                return false;
            out.operation = Operation::Mov, out.size = 1;
            break;
        case 0x80:  // byte forms: Linux's set_bit/clear_bit with a constant bit are `lock orb/andb`
        case 0x81:
        case 0x83: {
            static constexpr Operation GROUP1[8] = {Operation::Mov, Operation::Or, Operation::Mov, Operation::Mov,
                                                    Operation::And, Operation::Mov, Operation::Xor, Operation::Mov};
            const unsigned sub = modrm >> 3 & 7;
            if (sub != 1 && sub != 4 && sub != 6)
                return false;
            const unsigned size = op == 0x80 ? 1 : wide;
            if (!immediate(op == 0x81 ? (wide == 2 ? 2 : 4) : 1, op != 0x80))
                return false;
            out.operation = GROUP1[sub], out.size = size;
            break;
        }
        default: return false;
        }
    } else {
        switch (op) {
        case 0xb1: out.operation = Operation::Cmpxchg, out.size = wide; break;
        case 0xab: out.operation = Operation::Bts, out.size = wide; break;
        case 0xb3: out.operation = Operation::Btr, out.size = wide; break;
        case 0xbb: out.operation = Operation::Btc, out.size = wide; break;
        case 0xba: {
            const unsigned sub = modrm >> 3 & 7;
            if (sub < 5 || !immediate(1, false))
                return false;
            out.operation = sub == 5 ? Operation::Bts : sub == 6 ? Operation::Btr : Operation::Btc;
            out.size = wide;
            break;
        }
        default: return false;
        }
    }
    out.length = i;
    return true;
}

constexpr std::uint64_t FLAG_CF = 1u << 0, FLAG_ZF = 1u << 6, FLAG_SF = 1u << 7;

}  // namespace

bool emulate_page_table_write(Vcpu& vcpu, arch::TrapFrame& frame, std::uint64_t fault_address) {
    if (!(vcpu.domain->vm_assist & (std::uint64_t{1} << xen::VMASST_TYPE_writable_pagetables)) || !vcpu.kernel_mode)
        return false;
    std::uint8_t code[15] = {};
    unsigned available = sizeof(code);
    while (available && copy_from_guest(code, frame.rip, available).is_error())
        --available;
    Store store;
    if (!decode(code, available, store))
        return false;
    const unsigned offset = static_cast<unsigned>(fault_address & 7);
    if (offset % store.size || offset + store.size > 8)
        return false;  // §7.6: naturally aligned, inside one PTE

    MmLockGuard guard;
    // The faulting address must be mapped read-only by a PTE that points at a validated L1 of
    // this domain: that L1 is the table being written.
    std::uint64_t mapping_l1, mapping_index;
    {
        std::uint64_t l1;
        unsigned index;
        if (find_l1_entry(arch::active_root(vcpu), fault_address, l1, index).is_error())
            return false;
        mapping_l1 = l1, mapping_index = index;
    }
    const std::uint64_t mapping = static_cast<const std::uint64_t*>(arch::phys_to_virt(mapping_l1 << 12))[mapping_index];
    if (!pte::present(mapping) || pte::writable(mapping))
        return false;
    const std::uint64_t table = pte::frame(mapping);
    const FrameInfo* info = frame_info(table);
    if (!info || info->page.type != PageType::L1 || !info->page.validated() || !info->page.owned_by(vcpu.domain->id))
        return false;

    const unsigned entry = static_cast<unsigned>((fault_address & 0xfff) / 8);
    const std::uint64_t old = static_cast<const std::uint64_t*>(arch::phys_to_virt(table << 12))[entry];
    const unsigned shift = offset * 8;
    const std::uint64_t mask = store.size == 8 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (store.size * 8)) - 1);
    const std::uint64_t current = (old >> shift) & mask;
    const std::uint64_t source = (store.from_register ? gpr(frame, store.reg) : store.immediate) & mask;

    std::uint64_t result = current;
    std::uint64_t flags = frame.rflags & ~(FLAG_CF | FLAG_ZF | FLAG_SF);
    bool write = true;
    switch (store.operation) {
    case Operation::Mov: result = source; flags = frame.rflags; break;
    case Operation::Xchg:
        result = source;
        flags = frame.rflags;
        break;
    case Operation::Cmpxchg:
        if ((frame.rax & mask) == current) {
            result = source;
            flags |= FLAG_ZF;
        } else {
            write = false;
        }
        break;
    case Operation::And: result = current & source; break;
    case Operation::Or: result = current | source; break;
    case Operation::Xor: result = current ^ source; break;
    case Operation::Bts:
    case Operation::Btr:
    case Operation::Btc: {
        const std::uint64_t bit = source % (store.size * 8);
        if ((current >> bit) & 1)
            flags |= FLAG_CF;
        result = store.operation == Operation::Bts   ? current | (std::uint64_t{1} << bit)
                 : store.operation == Operation::Btr ? current & ~(std::uint64_t{1} << bit)
                                                     : current ^ (std::uint64_t{1} << bit);
        break;
    }
    }
    if (store.operation == Operation::And || store.operation == Operation::Or || store.operation == Operation::Xor) {
        if (result == 0)
            flags |= FLAG_ZF;
        if ((result >> (store.size * 8 - 1)) & 1)
            flags |= FLAG_SF;
    }
    if (write) {
        const std::uint64_t value = (old & ~(mask << shift)) | (result << shift);
        const UpdateContext self{vcpu.domain->id, vcpu.domain->id};
        if (page_table_validator().mod_entry(PageType::L1, self, table, entry, value, false).is_error())
            return false;  // §7.6: an invalid entry is not written; the #PF goes to the guest
    }
    if (store.operation == Operation::Xchg)
        gpr(frame, store.reg) = (gpr(frame, store.reg) & ~mask) | current;
    if (store.operation == Operation::Cmpxchg && !write)
        frame.rax = (frame.rax & ~mask) | current;
    frame.rflags = flags;
    frame.rip += store.length;
    return true;
}

}  // namespace xenolith
