DROP TABLE IF EXISTS worker_status;
