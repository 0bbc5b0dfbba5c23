/* LD_PRELOAD shim of the power-loss tests (tests/versioning/powerloss.py).
 *
 * Every fsync/fdatasync of a file or directory under $POWERLOSS_ROOT, whoever calls it
 * (Python, libgit2, SQLite), is a sync point: after the real call the shim records what it
 * made durable (a file's bytes, or a directory's entries as name -> inode) under
 * $POWERLOSS_LOG, and at sync point number $POWERLOSS_CRASH_AT the process ends at once.
 * The test then rebuilds the tree from the initial state and those records alone: what a
 * power cut right after that sync would have left. Syncs under the root are recorded, not
 * performed: the records are the durable state here, and the disk is spared the flushes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long sync_count = 0;

static int under_root(int fd, char *path, size_t size) {
    const char *root = getenv("POWERLOSS_ROOT");
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, size - 1);
    if (root == NULL || n < 0) return 0;
    path[n] = '\0';
    size_t len = strlen(root);
    return strncmp(path, root, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

static void write_all(int fd, const char *data, size_t size) {
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n <= 0) _exit(97);
        data += n;
        size -= (size_t)n;
    }
}

static void record(int fd) {
    char path[PATH_MAX], out[PATH_MAX], line[PATH_MAX + 128], link[64];
    const char *log = getenv("POWERLOSS_LOG");
    struct stat st;
    if (log == NULL || !under_root(fd, path, sizeof path) || fstat(fd, &st) != 0) return;
    long seq = ++sync_count;
    snprintf(out, sizeof out, "%s/%ld.bin", log, seq);
    int dst = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (dst < 0) _exit(98);
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(link);
        struct dirent *entry;
        while (dir != NULL && (entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            int n = snprintf(line, sizeof line, "%lu %d %s\n", (unsigned long)entry->d_ino,
                             entry->d_type, entry->d_name);
            write_all(dst, line, (size_t)n);
        }
        if (dir != NULL) closedir(dir);
    } else {
        int src = open(link, O_RDONLY);
        char buffer[1 << 16];
        ssize_t n;
        while (src >= 0 && (n = read(src, buffer, sizeof buffer)) > 0) write_all(dst, buffer, (size_t)n);
        if (src >= 0) close(src);
    }
    close(dst);
    snprintf(out, sizeof out, "%s/log", log);
    int index = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int n = snprintf(line, sizeof line, "%ld %c %lu %s\n", seq, S_ISDIR(st.st_mode) ? 'D' : 'F',
                     (unsigned long)st.st_ino, path);
    write_all(index, line, (size_t)n);
    close(index);
    const char *crash_at = getenv("POWERLOSS_CRASH_AT");
    if (crash_at != NULL && atol(crash_at) == seq) _exit(86);
}

int fsync(int fd) {
    static int (*real)(int) = NULL;
    char path[PATH_MAX];
    if (under_root(fd, path, sizeof path)) return record(fd), 0;
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int) = NULL;
    char path[PATH_MAX];
    if (under_root(fd, path, sizeof path)) return record(fd), 0;
    if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}
