-- Day partitions of visits, bz_sightings and audit_log on PostgreSQL (issue
-- #17). Nothing on SQLite, which keeps one table each. On PostgreSQL this
-- migration's step is Go (internal/store/partition.go, PartitionByDay): it
-- needs the existing rows' days and index definitions, which SQL in a
-- portable file cannot read. It swaps each table for a partitioned copy
-- (old table kept as TABLE_unpartitioned; see partition.go for why a
-- server of the previous release keeps working).
SELECT 1;
