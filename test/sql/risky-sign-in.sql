-- risky-sign-in: hidden
select count(*)::int as n from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
    and s.occurred_at >= $2 and s.occurred_at < $3 and s.risk_level_during_sign_in = 'hidden';

-- risky-sign-in: carriesRisk
select count(*)::int as total, count(*) filter (where s.risk_level_during_sign_in is not null or s.risk_state is not null)::int as with_risk from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
    and s.occurred_at >= $2 and s.occurred_at < $3;

-- risky-sign-in: risky
select s.user_id, s.user_principal_name, s.upstream_id, s.occurred_at, s.risk_level_during_sign_in, s.risk_state from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
    and s.occurred_at >= $2 and s.occurred_at < $3
        and (s.risk_level_during_sign_in = any($4::text[]) or s.risk_state = any($5::text[]))
      order by s.user_id, s.occurred_at, s.upstream_id;
