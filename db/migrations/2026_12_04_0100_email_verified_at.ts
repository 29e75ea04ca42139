// When the account's address was verified (Capture's `emailVerified` is that dateTime, not a flag: jump.ios
// JRCaptureUser.m parses it with dateFromISO8601DateTimeString). Kept by the database itself, whichever code
// path writes users: set when email_verified becomes true or the verified address changes, cleared when it
// becomes false. Rows verified before this migration get their updated_at (the best time known).
// Frozen once landed: later changes go in a new migration.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN email_verified_at timestamptz`.execute(db)
  await sql`UPDATE users SET email_verified_at = updated_at WHERE email_verified`.execute(db)
  await sql.raw(`CREATE FUNCTION users_email_verified_at() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NOT NEW.email_verified THEN
    NEW.email_verified_at := NULL;
  ELSIF TG_OP = 'INSERT' THEN
    NEW.email_verified_at := now();
  ELSIF NOT OLD.email_verified OR OLD.email IS DISTINCT FROM NEW.email THEN
    NEW.email_verified_at := now();
  ELSE
    NEW.email_verified_at := OLD.email_verified_at;
  END IF;
  RETURN NEW;
END
$fn$`).execute(db)
  await sql`CREATE TRIGGER users_email_verified_at BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION users_email_verified_at()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS users_email_verified_at ON users`.execute(db)
  await sql`DROP FUNCTION IF EXISTS users_email_verified_at()`.execute(db)
  await sql`ALTER TABLE users DROP COLUMN email_verified_at`.execute(db)
}
