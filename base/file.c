/* file.c - see include/base/file.h */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sw_read_file(const char *path, size_t cap, char **data, size_t *len,
		 int *missing, struct sw_err *err)
{
	size_t alloc = 0, n = 0;
	char *buf = NULL;
	struct stat st;
	int fd, ret = -1;

	*data = NULL;
	*len = 0;
	if (missing)
		*missing = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && missing) {
			*missing = 1;
			return 0;
		}
		return sw_errorf(err, "unable to read '%s': %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		sw_errorf(err, "unable to read '%s': it %s", path,
			  S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file");
		goto done;
	}
	for (;;) {
		ssize_t r;

		if (n + 4096 + 1 > alloc) {
			char *nb;

			alloc = alloc ? alloc * 2 : 8192;
			nb = realloc(buf, alloc);
			if (!nb) {
				sw_errorf(err, "unable to read '%s': out of memory", path);
				goto done;
			}
			buf = nb;
		}
		r = read(fd, buf + n, alloc - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			sw_errorf(err, "unable to read '%s': %s", path, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (cap && n > cap) {
			sw_errorf(err, "unable to read '%s': larger than %zu bytes", path, cap);
			goto done;
		}
	}
	if (!buf && !(buf = malloc(1))) {
		sw_errorf(err, "unable to read '%s': out of memory", path);
		goto done;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	buf = NULL;
	ret = 0;
done:
	free(buf);
	close(fd);
	return ret;
}

int sw_mkdir_p(const char *path, struct sw_err *err)
{
	char *copy = strdup(path), *p;
	int ret = -1;

	if (!copy)
		return sw_errorf(err, "out of memory");
	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			char c = *p;
			struct stat sb;

			*p = '\0';
			if (mkdir(copy, 0755) && errno != EEXIST) {
				sw_errorf(err, "cannot create directory '%s': %s", copy,
					  strerror(errno));
				goto done;
			}
			if (stat(copy, &sb) || !S_ISDIR(sb.st_mode)) {
				sw_errorf(err, "cannot create directory '%s': %s", copy,
					  "a file of that name exists");
				goto done;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	ret = 0;
done:
	free(copy);
	return ret;
}

int sw_mkdir_parents(const char *file_path, struct sw_err *err)
{
	char *copy = strdup(file_path), *slash;
	int ret = 0;

	if (!copy)
		return sw_errorf(err, "out of memory");
	slash = strrchr(copy, '/');
	if (slash && slash != copy) {
		*slash = '\0';
		ret = sw_mkdir_p(copy, err);
	}
	free(copy);
	return ret;
}
