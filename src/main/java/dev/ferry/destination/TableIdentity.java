package dev.ferry.destination;

/**
 * Which destination table a watermark's rows were written into: its oid (a table dropped and created again, or
 * replaced by another under the same name, has a new one) and its storage, the relfilenode (for a partitioned
 * table, its partitions'), which TRUNCATE renews, as do table rewrites (VACUUM FULL, CLUSTER, some ALTER TABLEs).
 */
public record TableIdentity(long oid, String storage) {
}
