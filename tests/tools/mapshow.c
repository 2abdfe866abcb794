// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mapshow FILE: map FILE shared, store a byte through the mapping, and print
 * this process's /proc/self/maps line for it with the inode it names. Used
 * by the demo to show that a mapping in the mount is the backing file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	char line[4096], want[32];
	struct stat st;
	FILE *maps;
	char *p;
	int fd, found = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: mapshow FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) || st.st_size == 0) {
		perror(argv[1]);
		return 1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	p[0] = 'M';	/* a store through the mapping */
	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	maps = fopen("/proc/self/maps", "r");
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long ino;

		if (strncmp(line, want, strlen(want)))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %lu", &ino) != 1)
			break;
		printf("maps line:     %s", line);
		printf("mapped inode:  %lu\n", ino);
		found = 1;
	}
	if (maps)
		fclose(maps);
	munmap(p, (size_t)st.st_size);
	close(fd);
	return found ? 0 : 1;
}
