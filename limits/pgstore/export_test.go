package pgstore

// MigrationV1 is the SQL of schema version 1, for the test that migrates
// a version 1 schema.
var MigrationV1 = migrations[0]
