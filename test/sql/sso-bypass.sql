-- sso-bypass: bypasses
select metabase_source_id, account_id, person_id, login_id, login_at, outcome
      from login_match
      where run_id = $1 and outcome in ('unexplained', 'password-session', 'unlinked')
      order by metabase_source_id, account_id, login_at, login_id;

-- sso-bypass: notEvaluable
select count(*)::int as n from login_match where run_id = $1 and outcome = 'not-evaluable';
