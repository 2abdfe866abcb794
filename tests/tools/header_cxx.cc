// SPDX-License-Identifier: GPL-2.0-or-later
// include/mapdirect.h stands alone and compiles as C++ (SPEC 4 ABI): this
// file includes nothing before it and checks the layout from C++.
#include "mapdirect.h"

static_assert(sizeof(struct mapdirect_lease) == 56, "lease");
static_assert(sizeof(struct mapdirect_unlease) == 32, "unlease");
static_assert(sizeof(struct mapdirect_lease_info) == 64, "lease_info");

int main()
{
	struct mapdirect_lease l = {};

	l.size = sizeof(l);
	return (int)(l.flags & ~MAPDIRECT_LEASE_FLAGS);
}
