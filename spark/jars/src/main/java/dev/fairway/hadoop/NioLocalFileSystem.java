package dev.fairway.hadoop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's {@code file://} file system without a process per file: the embedded profile's warehouse.
 *
 * <p>Hadoop's {@link RawLocalFileSystem} sets the permissions of every file and directory it creates.
 * Without Hadoop's native library (PySpark ships none) it does so by running {@code chmod} in a child
 * process. An Iceberg write of a Bronze partition that spans ~1,000 event dates creates a data file, its
 * {@code .crc} sidecar and a partition directory per date: ~3,000 child processes forked from a
 * multi-gigabyte JVM, during which the writing task waits. On the 100 MB Silver benchmark that was ~12 s
 * of a ~42 s fact-table write (bench/README.md, session 5).
 *
 * <p>This file system sets the same permissions with {@link Files#setPosixFilePermissions}, in process,
 * and writes no {@code .crc} sidecars (Iceberg's Parquet files carry their own page checksums and
 * metadata; S3 warehouses have no sidecars either). Reads still verify a sidecar where an older
 * version wrote one. Enabled by {@code spark/session.py} ({@code spark.hadoop.fs.file.impl}).
 */
public class NioLocalFileSystem extends LocalFileSystem {
  public NioLocalFileSystem() {
    super(new Raw());
    setWriteChecksum(false);
  }

  /** RawLocalFileSystem with setPermission through java.nio instead of a chmod process. */
  static final class Raw extends RawLocalFileSystem {
    /** Bit i of an octal mode (0 = others' execute … 8 = owner's read). */
    private static final PosixFilePermission[] MODE_BITS = {
      PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
      PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
    };

    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
      int mode = permission.toShort();
      Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
      for (int bit = 0; bit < MODE_BITS.length; bit++) {
        if ((mode & (1 << bit)) != 0) perms.add(MODE_BITS[bit]);
      }
      Files.setPosixFilePermissions(pathToFile(p).toPath(), perms);
    }
  }
}
