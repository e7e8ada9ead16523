-- Rows an earlier cc-ci left in its store, in the columns of schema version 1 (migrations only add,
-- so every later version has them): one run in each state, a tier list, a result, intake marks.
INSERT INTO runs (id, repo, recipe, pr, git_commit, git_ref, mode, tiers, state, outcome, level, queued_at,
                  started_at, finished_at, comment_id, trigger_comment_id, error, result_json) VALUES
  (1, 'coop-cloud/app-db', 'app-db', 3, '1111111111111111111111111111111111111111', 'refs/pull/3/head', 'cold',
   NULL, 'finished', 'pass', 5, 1700000000000, 1700000001000, 1700000061000, 501, 401, NULL,
   '{"schema_version":1,"recipe":"app-db","outcome":"pass","level":5,"level_of":5}'),
  (2, 'coop-cloud/app-db', 'app-db', 4, '2222222222222222222222222222222222222222', 'refs/pull/4/head', 'cold',
   'install,upgrade', 'finished', 'fail', 1, 1700000100000, 1700000101000, 1700000131000, 502, 402, NULL,
   '{"schema_version":1,"recipe":"app-db","outcome":"fail","level":1,"level_of":2}'),
  (3, 'coop-cloud/simple', 'simple', 7, '3333333333333333333333333333333333333333', 'refs/pull/7/head', 'cold',
   NULL, 'error', 'error', NULL, 1700000200000, 1700000201000, 1700000202000, 503, 403,
   'the server stopped during the run', NULL),
  (4, 'coop-cloud/simple', 'simple', 8, '4444444444444444444444444444444444444444', 'refs/pull/8/head', 'cold',
   NULL, 'superseded', NULL, NULL, 1700000300000, NULL, 1700000301000, 504, 404,
   'superseded by run 5', NULL),
  (5, 'coop-cloud/simple', 'simple', 8, '5555555555555555555555555555555555555555', 'refs/pull/8/head', 'cold',
   'install', 'running', NULL, NULL, 1700000301000, 1700000302000, NULL, 505, 405, NULL, NULL),
  (6, 'coop-cloud/app-db', 'app-db', 9, '6666666666666666666666666666666666666666', 'refs/pull/9/head', 'cold',
   NULL, 'queued', NULL, NULL, 1700000400000, NULL, NULL, NULL, 406, NULL, NULL);
INSERT INTO seen_comments (repo, comment_id, first_seen) VALUES
  ('coop-cloud/app-db', 401, 1700000000000), ('coop-cloud/app-db', 402, 1700000100000),
  ('coop-cloud/simple', 403, 1700000200000);
INSERT INTO webhook_deliveries (delivery_id, received_at) VALUES
  ('5f1c1e2a-0000-4000-8000-000000000001', 1700000000000);
INSERT INTO poll_marks (repo, since) VALUES ('coop-cloud/app-db', '2023-11-14T22:13:20+02:00');
