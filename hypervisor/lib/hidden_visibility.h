/* Force-included into every hypervisor translation unit: every symbol, defined or declared, has
 * hidden visibility, so position-independent code reaches it RIP-relative instead of through a GOT
 * (the image is linked at a fixed address outside the ±2 GiB a GOT conversion can reach). */
#pragma GCC visibility push(hidden)
