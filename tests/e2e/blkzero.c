/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blkzero DEV OFFSET LENGTH [unmap]: zero LENGTH bytes of block device DEV
 * at OFFSET through the kernel's write-zeroes path (a guest-side helper of
 * tests/e2e/vfio-user.sh, built static; busybox has no BLKZEROOUT).
 *   without unmap: ioctl BLKZEROOUT (the block layer's REQ_OP_WRITE_ZEROES
 *                  with NOUNMAP: virtio-blk WRITE_ZEROES, flags 0);
 *   unmap:         fallocate(PUNCH_HOLE | KEEP_SIZE) on the device
 *                  (REQ_OP_WRITE_ZEROES without NOUNMAP, no fallback:
 *                  virtio-blk WRITE_ZEROES with VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    uint64_t r[2];
    int fd, rc;

    if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "unmap") != 0)) {
        fprintf(stderr, "usage: blkzero DEV OFFSET LENGTH [unmap]\n");
        return 2;
    }
    r[0] = strtoull(argv[2], NULL, 0);
    r[1] = strtoull(argv[3], NULL, 0);
    fd = open(argv[1], O_RDWR);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    if (argc == 5)
        rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       (off_t)r[0], (off_t)r[1]);
    else
        rc = ioctl(fd, BLKZEROOUT, r);
    if (rc != 0) {
        perror(argc == 5 ? "fallocate" : "BLKZEROOUT");
        return 1;
    }
    close(fd);
    return 0;
}
