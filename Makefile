# farmreg -- PGXS build
#
#   make                  build the extension
#   make install          install it into the PostgreSQL found by PG_CONFIG
#   make installcheck     pg_regress suite against a running server (PGHOST, PGPORT, ...)
#   make test             everything, on a private cluster: see scripts/test.sh
#   make test-fresh       make demo + make test in a fresh minimal Debian 12 root (root only):
#                         scripts/test-fresh.sh
#   make demo             a private cluster, a registration and every failure, with its copy
#   make bench            farmreg against its alternatives, on a private cluster: scripts/bench.sh
#   make fuzz             libFuzzer on the field rules, FUZZ_SECONDS (60) per target

EXTENSION    = farmreg
MODULE_big   = farmreg
OBJS         = src/farmreg.o src/validate.o src/pwformat.o src/fields.o \
               src/spiutil.o src/logfilter.o src/messages.o src/result.o \
               src/probe.o src/steps.o src/registration.o src/judge.o \
               src/batch.o src/register.o src/outbox.o src/wakeup.o \
               src/hashbudget.o src/password.o src/login.o src/deregister.o
DATA         = $(sort $(wildcard sql/farmreg--*.sql))
PGFILEDESC   = "farmreg - transactional farm-admin registration"

# pg_regress scenarios in sql/, in this order; each creates the extension itself
REGRESS      = register validation catalog idempotency failures passwords security batch versions outbox \
               collation single_vs_batch

# pg_isolation_regress specs (specs/NAME.spec against expected/NAME.out), run by
# make installcheck after REGRESS: concurrent registrations that collide
ISOLATION    = race_unique race_idempotency race_snapshot race_batch outbox_order outbox_ack outbox_poll \
               outbox_poll_lock subxids login_upgrade

PG_CPPFLAGS  = -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter \
               -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK   = -lsodium -lcrypt -lcrypto

EXTRA_CLEAN  = fuzz/build

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies unless the server was configured with
# --enable-depend: rebuild every object when a header changes
$(OBJS): $(wildcard src/*.h)

.PHONY: test test-fresh demo bench fuzz
test:
	@bash scripts/test.sh
test-fresh:
	@bash scripts/test-fresh.sh
demo:
	@bash scripts/demo.sh
bench:
	@bash scripts/bench.sh
fuzz:
	$(MAKE) -C fuzz run
