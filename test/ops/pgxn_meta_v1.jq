# test/ops/pgxn_meta_v1.jq -- checks a META.json against the PGXN Meta Spec
# 1.0.x (https://pgxn.org/meta/spec.txt): required keys, types, the allowed
# keys of every object (plus custom x_ keys), SemVer versions, version
# ranges, license names, terms, tags and the shapes of prereqs and resources.
#
#   jq -r -f test/ops/pgxn_meta_v1.jq META.json
#
# prints one line per problem; no output means valid.

def semver_re:
  "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)"
  + "(-((0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
  + "(\\+([0-9a-zA-Z-]+(\\.[0-9a-zA-Z-]+)*))?$";

def is_semver: type == "string" and test(semver_re);

# a Term: at least 2 characters, no slash, backslash, space or control character
def is_term: type == "string" and test("^[^/\\\\[:space:][:cntrl:]]{2,}$");

def is_custom: test("^[xX]_.");

def is_version_range:
  (type == "number" and . == 0)
  or (type == "string"
      and (. == "0"
           or ([splits(",\\s*")]
               | all(sub("^(==|!=|<=|>=|<|>)\\s*"; "") | test(semver_re)))));

def licenses: ["agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd",
  "freebsd", "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0",
  "mit", "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5", "postgresql", "qpl_1_0",
  "ssleay", "sun", "zlib", "open_source", "restricted", "unrestricted", "unknown"];

def is_nonempty_string: type == "string" and length >= 1;

# unknown_keys(PATH; ALLOWED): one problem per key that is neither allowed nor custom
def unknown_keys($path; $allowed):
  if type == "object" then
    keys[] as $k
    | select(($allowed | index([$k])) == null and ($k | is_custom | not))
    | "\($path): unknown key \($k)"
  else empty end;

def check:
  . as $m
  | if type != "object" then "top level: not an object" else
    (["name", "version", "abstract", "maintainer", "license", "provides", "meta-spec"][]
       | select($m[.] == null) | "required key \(.) is missing"),

    unknown_keys("top level"; ["name", "version", "abstract", "maintainer", "license",
      "provides", "meta-spec", "description", "generated_by", "tags", "no_index", "prereqs",
      "release_status", "resources"]),

    (if $m.name != null and ($m.name | is_term | not) then "name: not a term (2+ characters, no slash, backslash, space or control character)" else empty end),
    (if $m.version != null and ($m.version | is_semver | not) then "version \($m.version | tojson): not a SemVer version" else empty end),
    (if $m.abstract != null and ($m.abstract | is_nonempty_string | not) then "abstract: not a non-empty string" else empty end),
    (if $m.description != null and ($m.description | is_nonempty_string | not) then "description: not a non-empty string" else empty end),
    (if $m.generated_by != null and ($m.generated_by | is_nonempty_string | not) then "generated_by: not a non-empty string" else empty end),

    (if $m.maintainer == null then empty
     elif ($m.maintainer | is_nonempty_string) then empty
     elif ($m.maintainer | type == "array" and length >= 1 and all(is_nonempty_string)) then empty
     else "maintainer: not a non-empty string or array of them" end),

    (if $m.license == null then empty
     elif ($m.license | type == "string") then
       (if (licenses | index([$m.license])) == null then "license \($m.license | tojson): not a known license name" else empty end)
     elif ($m.license | type == "array") then
       (if ($m.license | length) == 0 then "license: empty array" else empty end),
       ($m.license[] as $l | select((licenses | index([$l])) == null) | "license \($l | tojson): not a known license name")
     elif ($m.license | type == "object") then
       (if ($m.license | length) == 0 then "license: empty object" else empty end),
       ($m.license | to_entries[] | select(.value | is_nonempty_string | not) | "license \(.key): value is not a URI string")
     else "license: not a string, array or object" end),

    (if $m["meta-spec"] == null then empty
     elif ($m["meta-spec"] | type != "object") then "meta-spec: not an object"
     else
       (if ($m["meta-spec"].version | type == "string" and test("^1\\.0\\.[0-9]+$")) | not
        then "meta-spec.version \($m["meta-spec"].version | tojson): must be 1.0.x" else empty end),
       (if $m["meta-spec"].url != null
           and (["https://pgxn.org/meta/spec.txt", "http://pgxn.org/meta/spec.txt"] | index([$m["meta-spec"].url])) == null
        then "meta-spec.url: must be https://pgxn.org/meta/spec.txt" else empty end),
       ($m["meta-spec"] | unknown_keys("meta-spec"; ["version", "url"]))
     end),

    (if $m.provides == null then empty
     elif ($m.provides | type != "object" or length == 0) then "provides: not a non-empty object"
     else
       ($m.provides | to_entries[] | . as $e
        | (if ($e.key | is_term | not) then "provides: \($e.key | tojson) is not a term" else empty end),
          (if ($e.value | type != "object") then "provides.\($e.key): not an object"
           else
             (if $e.value.file == null then "provides.\($e.key).file is missing"
              elif ($e.value.file | type == "string" and length >= 2 and (startswith("/") | not) and (test("\\\\") | not)) | not
              then "provides.\($e.key).file: not a relative Unix path" else empty end),
             (if $e.value.version == null then "provides.\($e.key).version is missing"
              elif ($e.value.version | is_semver | not) then "provides.\($e.key).version \($e.value.version | tojson): not a SemVer version" else empty end),
             (if $e.value.abstract != null and ($e.value.abstract | is_nonempty_string | not) then "provides.\($e.key).abstract: not a non-empty string" else empty end),
             (if $e.value.docfile != null and ($e.value.docfile | type == "string" and length >= 2 | not) then "provides.\($e.key).docfile: not a path" else empty end),
             ($e.value | unknown_keys("provides.\($e.key)"; ["file", "version", "abstract", "docfile", "docpath"]))
           end))
     end),

    (if $m.prereqs == null then empty
     elif ($m.prereqs | type != "object" or length == 0) then "prereqs: not a non-empty object"
     else
       ($m.prereqs | unknown_keys("prereqs"; ["configure", "build", "test", "runtime", "develop"])),
       ($m.prereqs | to_entries[] | select(.key | is_custom | not) | . as $phase
        | if ($phase.value | type != "object" or length == 0) then "prereqs.\($phase.key): not a non-empty object"
          else
            ($phase.value | unknown_keys("prereqs.\($phase.key)"; ["requires", "recommends", "suggests", "conflicts"])),
            ($phase.value | to_entries[] | select(.key | is_custom | not) | . as $rel
             | if ($rel.value | type != "object" or length == 0) then "prereqs.\($phase.key).\($rel.key): not a non-empty object"
               else
                 ($rel.value | to_entries[]
                  | (if (.key | is_term | not) then "prereqs.\($phase.key).\($rel.key): \(.key | tojson) is not a term" else empty end),
                    (if (.value | is_version_range | not) then "prereqs.\($phase.key).\($rel.key).\(.key): \(.value | tojson) is not a version range" else empty end))
               end)
          end)
     end),

    (if $m.release_status != null and ((["stable", "testing", "unstable"] | index([$m.release_status])) == null)
     then "release_status \($m.release_status | tojson): must be stable, testing or unstable" else empty end),

    (if $m.tags == null then empty
     elif ($m.tags | type != "array" or length == 0) then "tags: not a non-empty array"
     else ($m.tags[] | select((type == "string" and length >= 2 and length <= 255 and (test("[/\\\\[:cntrl:]]") | not)) | not)
           | "tags: \(tojson) is not a tag") end),

    (if $m.no_index == null then empty
     elif ($m.no_index | type != "object") then "no_index: not an object"
     else ($m.no_index | unknown_keys("no_index"; ["file", "directory"])) end),

    (if $m.resources == null then empty
     elif ($m.resources | type != "object" or length == 0) then "resources: not a non-empty object"
     else
       ($m.resources | unknown_keys("resources"; ["homepage", "bugtracker", "repository"])),
       (if $m.resources.homepage != null and ($m.resources.homepage | is_nonempty_string | not) then "resources.homepage: not a URI string" else empty end),
       (if $m.resources.bugtracker == null then empty
        elif ($m.resources.bugtracker | type != "object") then "resources.bugtracker: not an object"
        elif ($m.resources.bugtracker.web == null and $m.resources.bugtracker.mailto == null) then "resources.bugtracker: needs web or mailto"
        else ($m.resources.bugtracker | unknown_keys("resources.bugtracker"; ["web", "mailto"])) end),
       (if $m.resources.repository == null then empty
        elif ($m.resources.repository | type != "object") then "resources.repository: not an object"
        elif ($m.resources.repository.web == null
              and ($m.resources.repository.url == null or $m.resources.repository.type == null))
        then "resources.repository: needs web, or url and type"
        else ($m.resources.repository | unknown_keys("resources.repository"; ["url", "web", "type"])) end)
     end)
    end;

check
