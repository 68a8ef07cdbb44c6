-- log-gap: retention
select id, settings from source where id = any($1::text[]);
