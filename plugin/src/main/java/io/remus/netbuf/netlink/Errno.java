package io.remus.netbuf.netlink;

import java.util.Map;

/** The errno values (asm-generic/errno-base.h) that the namespace calls react to, and their names for messages. */
final class Errno {

    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int ENOTDIR = 20;
    static final int EINVAL = 22;
    static final int EMFILE = 24;
    static final int ENOSPC = 28;
    static final int EROFS = 30;
    static final int ENOSYS = 38;

    private static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(EPERM, "EPERM (Operation not permitted)"),
            Map.entry(ENOENT, "ENOENT (No such file or directory)"),
            Map.entry(EINTR, "EINTR (Interrupted system call)"),
            Map.entry(ENOMEM, "ENOMEM (Cannot allocate memory)"),
            Map.entry(EACCES, "EACCES (Permission denied)"),
            Map.entry(EBUSY, "EBUSY (Device or resource busy)"),
            Map.entry(EEXIST, "EEXIST (File exists)"),
            Map.entry(ENOTDIR, "ENOTDIR (Not a directory)"),
            Map.entry(EINVAL, "EINVAL (Invalid argument)"),
            Map.entry(EMFILE, "EMFILE (Too many open files)"),
            Map.entry(ENOSPC, "ENOSPC (No space left on device)"),
            Map.entry(EROFS, "EROFS (Read-only file system)"),
            Map.entry(ENOSYS, "ENOSYS (Function not implemented)"));

    private Errno() {
    }

    /** {@code EPERM (Operation not permitted)}, or {@code errno N} for one not in the table. */
    static String describe(int errno) {
        return NAMES.getOrDefault(errno, "errno " + errno);
    }
}
