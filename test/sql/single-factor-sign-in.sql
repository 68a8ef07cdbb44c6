-- single-factor-sign-in: carriesRequirement
select count(*)::int as total, count(s.authentication_requirement)::int as with_requirement from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
    and s.occurred_at >= $2 and s.occurred_at < $3;

-- single-factor-sign-in: singleFactor
select s.user_id, s.user_principal_name, s.upstream_id, s.occurred_at from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
    and s.occurred_at >= $2 and s.occurred_at < $3
        and s.authentication_requirement = 'singleFactorAuthentication'
      order by s.user_id, s.occurred_at, s.upstream_id;
