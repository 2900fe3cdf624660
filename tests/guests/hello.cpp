// hello: the smallest test kernel. Prints, asks for the hypervisor version, passes.
#include "xt/test.hpp"

void guest_main(const xen::start_info* si) {
    xt::print("hello from a Xenolith test kernel\n");
    CHECK(si != nullptr);
    // §2.8: the builder writes "xen-3.0-x86_64".
    CHECK(si->magic[0] == 'x' && si->magic[1] == 'e' && si->magic[2] == 'n' && si->magic[3] == '-');
    CHECK(si->nr_pages > 0);
    xt::print("start_info: nr_pages {} flags {:#x} shared_info {:#x} pt_base {:#x} cmdline '{}'\n", si->nr_pages,
              si->flags, si->shared_info, si->pt_base, si->cmd_line);

    // §5.13: (major << 16) | minor; Xen 4.17's ABI is what we speak, so the major must be 4 or
    // more and the value must not be an error.
    const long version = xt::xen_version(xen::XENVER_version);
    xt::print("xen_version: {}.{}\n", xen::xen_version_major(static_cast<std::uint64_t>(version)),
              xen::xen_version_minor(static_cast<std::uint64_t>(version)));
    CHECK(version > 0);
    CHECK(xen::xen_version_major(static_cast<std::uint64_t>(version)) >= 3);
    CHECK(xen::xen_version_major(static_cast<std::uint64_t>(version)) < 100);

    // §5.13: one feature submap; index 1 is refused.
    xen::xen_feature_info features{0, 0};
    CHECK_EQ(xt::xen_version(xen::XENVER_get_features, &features), 0);
    CHECK((features.submap & xen::xenfeat_bit(xen::XENFEAT_writable_page_tables)) == 0);
    xen::xen_feature_info bad_index{1, 0};
    CHECK_ERRNO(xt::xen_version(xen::XENVER_get_features, &bad_index), xen::Errno::EINVAL);
    CHECK_EQ(xt::xen_version(xen::XENVER_pagesize), 4096);
}
