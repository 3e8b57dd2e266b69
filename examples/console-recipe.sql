-- The upsert of examples/consumer.py for kafka-console-consumer.sh | sed | sqlite3;
-- see the README, "Consuming the output: corrections".
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, status TEXT, duplicate_of TEXT, corrected INTEGER, record TEXT);
CREATE TABLE IF NOT EXISTS inbox (record TEXT);
CREATE TRIGGER IF NOT EXISTS upsert AFTER INSERT ON inbox
WHEN json_extract(NEW.record, '$.dedup') IS NOT NULL BEGIN
    INSERT INTO articles VALUES (
        json_extract(NEW.record, '$.id'), json_extract(NEW.record, '$.dedup.status'),
        json_extract(NEW.record, '$.dedup.duplicate_of'),
        json_extract(NEW.record, '$.correction') IS NOT NULL, NEW.record)
    ON CONFLICT (id) DO UPDATE SET status = excluded.status,
        duplicate_of = excluded.duplicate_of, corrected = excluded.corrected,
        record = excluded.record
    WHERE excluded.corrected >= articles.corrected;
END;
CREATE TRIGGER IF NOT EXISTS drain AFTER INSERT ON inbox BEGIN
    DELETE FROM inbox WHERE rowid = NEW.rowid;
END;
