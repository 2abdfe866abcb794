// SPDX-License-Identifier: GPL-2.0-or-later
/* include/mapdirect.h stands alone in strict C99 too: nothing before it. */
#include "mapdirect.h"

int main(void)
{
	struct mapdirect_lease_info info = { sizeof(info), 0, 0, 0, 0, 0, 0, 0,
					     { 0, 0, 0 } };

	return (int)info.state;
}
