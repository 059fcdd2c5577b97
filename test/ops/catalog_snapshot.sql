--
-- test/ops/catalog_snapshot.sql -- the farmreg extension's objects, from the
-- catalogs, one line per property, sorted: two databases have the same
-- objects exactly when their snapshots are equal (the upgrade suite diffs an
-- upgraded database against a fresh install).
--
-- Covers the extension row and its config-dump registrations (by relation
-- name), membership (pg_depend 'e'), the schema, and everything in it:
-- functions (kind, language, strictness, volatility, parallel safety,
-- security definer, leakproof, cost, rows, proconfig, arguments with names
-- and defaults, result, body or C symbol, owner, ACL), tables and views
-- (columns in order: name, type, NOT NULL, default, identity, generated,
-- collation, column ACL; options, RLS, ACL), indexes, constraints, triggers,
-- policies, sequences, types (composite attributes, enum labels, domains),
-- comments on all of these, and the initial privileges pg_dump relies on
-- (pg_init_privs).  ACLs are compared as sorted lists with NULL replaced by
-- the owner's default, so the order of GRANT/REVOKE does not matter, only
-- the outcome.
--
-- Run with: psql -X -A -t -v ON_ERROR_STOP=1 -f catalog_snapshot.sql
--
WITH
ext AS (
    SELECT e.oid, e.extname, e.extversion, e.extnamespace, e.extrelocatable,
           e.extconfig, e.extcondition
      FROM pg_catalog.pg_extension AS e
     WHERE e.extname = 'farmreg'
),
nsp AS (
    SELECT n.oid, n.nspname, n.nspowner, n.nspacl
      FROM pg_catalog.pg_namespace AS n
     WHERE n.nspname = 'farmreg'
),
rels AS (
    SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, c.relpersistence,
           c.relrowsecurity, c.relforcerowsecurity, c.relreplident, c.reloptions,
           c.relispartition,
           pg_catalog.format('%I.%I', 'farmreg', c.relname) AS qname
      FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace = (SELECT oid FROM nsp)
),
procs AS (
    SELECT p.*, p.oid::pg_catalog.regprocedure::text AS sig
      FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace = (SELECT oid FROM nsp)
),
lines(line) AS (
    -- the extension
    SELECT pg_catalog.format('extension %s: version %s, schema %s, relocatable %s',
                             extname, extversion, extnamespace::pg_catalog.regnamespace,
                             extrelocatable)
      FROM ext
    UNION ALL
    SELECT pg_catalog.format('extension config-dump: %s %s',
                             COALESCE(c.relname, 'oid ' || u.reloid), pg_catalog.quote_literal(u.cond))
      FROM ext,
           LATERAL unnest(ext.extconfig, ext.extcondition) AS u(reloid, cond)
           LEFT JOIN pg_catalog.pg_class AS c ON c.oid = u.reloid
    UNION ALL
    SELECT 'extension member: ' || pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
      FROM pg_catalog.pg_depend AS d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid = ext.oid
       AND d.deptype = 'e'

    -- the schema
    UNION ALL
    SELECT pg_catalog.format('schema %s: owner %s, acl %s', nspname,
                             pg_catalog.pg_get_userbyid(nspowner),
                             (SELECT pg_catalog.array_agg(a::text ORDER BY a::text)
                                FROM unnest(COALESCE(nspacl, pg_catalog.acldefault('n', nspowner))) AS a))
      FROM nsp

    -- functions and procedures
    UNION ALL
    SELECT pg_catalog.format(
               'function %s: kind %s, language %s, strict %s, volatility %s, parallel %s, '
               'security definer %s, leakproof %s, cost %s, rows %s, returns set %s',
               sig, prokind, (SELECT lanname FROM pg_catalog.pg_language WHERE oid = prolang),
               proisstrict, provolatile, proparallel, prosecdef, proleakproof, procost,
               prorows, proretset)
      FROM procs
    UNION ALL
    SELECT pg_catalog.format('function %s: arguments (%s)', sig,
                             pg_catalog.pg_get_function_arguments(oid))
      FROM procs
    UNION ALL
    SELECT pg_catalog.format('function %s: argument names %s, modes %s', sig,
                             COALESCE(proargnames::text, '-'), COALESCE(proargmodes::text, '-'))
      FROM procs
    UNION ALL
    SELECT pg_catalog.format('function %s: returns %s', sig,
                             pg_catalog.pg_get_function_result(oid))
      FROM procs
    UNION ALL
    SELECT pg_catalog.format('function %s: config %s', sig,
                             COALESCE((SELECT pg_catalog.array_agg(s ORDER BY s)
                                         FROM unnest(proconfig) AS s)::text, '-'))
      FROM procs
    UNION ALL
    SELECT pg_catalog.format('function %s: %s', sig,
                             CASE WHEN probin IS NOT NULL
                                  THEN pg_catalog.format('C symbol %s in %s', prosrc, probin)
                                  ELSE 'body md5 ' || pg_catalog.md5(prosrc) END)
      FROM procs
    UNION ALL
    SELECT pg_catalog.format('function %s: owner %s, acl %s', sig,
                             pg_catalog.pg_get_userbyid(proowner),
                             (SELECT pg_catalog.array_agg(a::text ORDER BY a::text)
                                FROM unnest(COALESCE(proacl, pg_catalog.acldefault('f', proowner))) AS a))
      FROM procs

    -- relations: tables, views, sequences, ...
    UNION ALL
    SELECT pg_catalog.format('relation %s: kind %s, persistence %s, row security %s/%s, '
                             'replica identity %s, partition %s, options %s, owner %s, acl %s',
                             qname, relkind, relpersistence, relrowsecurity, relforcerowsecurity,
                             relreplident, relispartition, COALESCE(reloptions::text, '-'),
                             pg_catalog.pg_get_userbyid(relowner),
                             (SELECT pg_catalog.array_agg(a::text ORDER BY a::text)
                                FROM unnest(COALESCE(relacl, pg_catalog.acldefault(
                                    CASE WHEN relkind = 'S' THEN 's'::"char" ELSE 'r'::"char" END, relowner))) AS a))
      FROM rels
     WHERE relkind NOT IN ('i', 'I', 'c', 't')
    -- columns, by position among the live ones (a dropped column leaves a gap
    -- in attnum that a fresh install does not have)
    UNION ALL
    SELECT pg_catalog.format('relation %s: column %s %s: %s%s%s%s%s%s%s',
                             r.qname,
                             pg_catalog.row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum),
                             a.attname,
                             pg_catalog.format_type(a.atttypid, a.atttypmod),
                             CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                             COALESCE(' DEFAULT ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), ''),
                             CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                                                WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY'
                                                ELSE '' END,
                             CASE WHEN a.attgenerated = 's' THEN ' (stored generated)' ELSE '' END,
                             CASE WHEN a.attcollation <> 0
                                  THEN ' COLLATE ' || a.attcollation::pg_catalog.regcollation::text
                                  ELSE '' END,
                             COALESCE(' acl ' || (SELECT pg_catalog.array_agg(x::text ORDER BY x::text)
                                                    FROM unnest(a.attacl) AS x)::text, ''))
      FROM rels AS r
      JOIN pg_catalog.pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef AS ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f')
    UNION ALL
    SELECT pg_catalog.format('view %s: %s', qname,
                             pg_catalog.regexp_replace(pg_catalog.pg_get_viewdef(oid, true), '\s+', ' ', 'g'))
      FROM rels
     WHERE relkind IN ('v', 'm')

    -- indexes
    UNION ALL
    SELECT pg_catalog.format('index %s: %s%s', r.qname, pg_catalog.pg_get_indexdef(r.oid),
                             CASE WHEN i.indisclustered THEN ' (clustered)' ELSE '' END
                             || CASE WHEN i.indisreplident THEN ' (replica identity)' ELSE '' END)
      FROM rels AS r
      JOIN pg_catalog.pg_index AS i ON i.indexrelid = r.oid

    -- constraints (on tables and on domains)
    UNION ALL
    SELECT pg_catalog.format('constraint %s on %s: %s%s',
                             con.conname,
                             COALESCE(con.conrelid::pg_catalog.regclass::text,
                                      'domain ' || con.contypid::pg_catalog.regtype::text),
                             pg_catalog.pg_get_constraintdef(con.oid),
                             CASE WHEN con.contype = 'f' THEN ' (index ' || COALESCE(con.conindid::pg_catalog.regclass::text, '-') || ')' ELSE '' END)
      FROM pg_catalog.pg_constraint AS con
     WHERE con.connamespace = (SELECT oid FROM nsp)

    -- triggers
    UNION ALL
    SELECT pg_catalog.format('trigger %s on %s: %s (enabled %s)', t.tgname, t.tgrelid::pg_catalog.regclass,
                             pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled)
      FROM pg_catalog.pg_trigger AS t
     WHERE NOT t.tgisinternal
       AND t.tgrelid IN (SELECT oid FROM rels)

    -- row security policies
    UNION ALL
    SELECT pg_catalog.format('policy %s on %s.%s: %s %s to %s using %s check %s',
                             policyname, schemaname, tablename, permissive, cmd, roles,
                             COALESCE(qual, '-'), COALESCE(with_check, '-'))
      FROM pg_catalog.pg_policies
     WHERE schemaname = 'farmreg'

    -- sequences
    UNION ALL
    SELECT pg_catalog.format('sequence %s: type %s, start %s, increment %s, min %s, max %s, cache %s, cycle %s, owned by %s',
                             r.qname, s.seqtypid::pg_catalog.regtype, s.seqstart, s.seqincrement,
                             s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                             COALESCE((SELECT pg_catalog.format('%s.%s', d.refobjid::pg_catalog.regclass, a.attname)
                                         FROM pg_catalog.pg_depend AS d
                                         JOIN pg_catalog.pg_attribute AS a
                                           ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                          AND d.objid = r.oid
                                          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                          AND d.deptype IN ('a', 'i')), '-'))
      FROM rels AS r
      JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = r.oid

    -- types that stand on their own (not a table's row type, not an array)
    UNION ALL
    SELECT pg_catalog.format('type %s: kind %s, owner %s, acl %s%s', t.oid::pg_catalog.regtype, t.typtype,
                             pg_catalog.pg_get_userbyid(t.typowner),
                             (SELECT pg_catalog.array_agg(a::text ORDER BY a::text)
                                FROM unnest(COALESCE(t.typacl, pg_catalog.acldefault('T', t.typowner))) AS a),
                             CASE WHEN t.typtype = 'd'
                                  THEN pg_catalog.format(', domain over %s%s%s',
                                                         pg_catalog.format_type(t.typbasetype, t.typtypmod),
                                                         CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END,
                                                         COALESCE(' DEFAULT ' || t.typdefault, ''))
                                  WHEN t.typtype = 'e'
                                  THEN ', labels ' || (SELECT pg_catalog.array_agg(e.enumlabel ORDER BY e.enumsortorder)
                                                         FROM pg_catalog.pg_enum AS e WHERE e.enumtypid = t.oid)::text
                                  ELSE '' END)
      FROM pg_catalog.pg_type AS t
     WHERE t.typnamespace = (SELECT oid FROM nsp)
       AND NOT (t.typelem <> 0 AND t.typsubscript = 'pg_catalog.array_subscript_handler'::pg_catalog.regproc)
       AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class AS c WHERE c.oid = t.typrelid) = 'c')
    UNION ALL
    SELECT pg_catalog.format('type %s: attribute %s %s: %s', t.oid::pg_catalog.regtype,
                             pg_catalog.row_number() OVER (PARTITION BY t.oid ORDER BY a.attnum),
                             a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod))
      FROM pg_catalog.pg_type AS t
      JOIN pg_catalog.pg_class AS c ON c.oid = t.typrelid AND c.relkind = 'c'
      JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE t.typnamespace = (SELECT oid FROM nsp)

    -- comments on anything in the schema (columns, constraints, triggers
    -- included) and on the schema and the extension
    UNION ALL
    SELECT pg_catalog.format('comment on %s: %s',
                             pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
      FROM pg_catalog.pg_description AS d
     WHERE (pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid)).schema = 'farmreg'
        OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid = (SELECT oid FROM nsp))
        OR (d.classoid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.objoid = (SELECT oid FROM ext))

    -- the privileges the extension's scripts left (pg_dump dumps only changes
    -- from these)
    UNION ALL
    SELECT pg_catalog.format('initial privileges of %s: %s',
                             pg_catalog.pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
                             (SELECT pg_catalog.array_agg(a::text ORDER BY a::text) FROM unnest(ip.initprivs) AS a))
      FROM pg_catalog.pg_init_privs AS ip
     WHERE ip.privtype = 'e'
       AND ((pg_catalog.pg_identify_object(ip.classoid, ip.objoid, ip.objsubid)).schema = 'farmreg'
            OR (ip.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND ip.objoid = (SELECT oid FROM nsp)))
)
SELECT line FROM lines ORDER BY line COLLATE "C";
