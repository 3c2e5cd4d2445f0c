DROP TABLE IF EXISTS sent_emails;
