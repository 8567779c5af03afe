# make -j2 of a generated 40-file C project, checkpointed mid-build
# (e2e.make_j2.*).  Run as: bash -c "$(cat make_project.sh)" under the e2e
# harness: the project goes into the harness's work directory, then the
# shell becomes make.  make prints READY after the 9th object (the harness
# checkpoints then, with ~30 compilations to go), builds the rest, waits
# for $DMTCP_TEST_GO in its last rule, runs the binary and prints PASS only
# if it printed the right sum and every object is there.
set -eu
proj=$(dirname "$DMTCP_TEST_GO")/proj
rm -rf "$proj"
mkdir -p "$proj"
cd "$proj"
nfiles=40
nfuncs=60    # per file: ~0.1-0.2 s of gcc -O1 each
expected=0
objs=""
for ((f = 0; f < nfiles; f++)); do
  name=$(printf 'f%02d' $f)
  {
    for ((k = 0; k < nfuncs; k++)); do
      echo "static long ${name}_$k(long x) { long s = x; for (int i = 0; i < $((k % 7 + 3)); i++) s = s * 31 + i + $k; return s % 1000003 + $f; }"
    done
    echo "long $name(void) {"
    echo "  long t = 0;"
    for ((k = 0; k < nfuncs; k++)); do
      echo "  t += ${name}_$k($k);"
    done
    echo "  return t;"
    echo "}"
  } > $name.c
  objs="$objs $name.o"
done
# The expected sum, computed here the same way (bash arithmetic is 64-bit).
for ((f = 0; f < nfiles; f++)); do
  for ((k = 0; k < nfuncs; k++)); do
    s=$k
    for ((i = 0; i < k % 7 + 3; i++)); do s=$((s * 31 + i + k)); done
    expected=$((expected + s % 1000003 + f))
  done
done
{
  echo '#include <stdio.h>'
  for ((f = 0; f < nfiles; f++)); do printf 'long f%02d(void);\n' $f; done
  echo 'int main(void) {'
  echo '  long t = 0;'
  for ((f = 0; f < nfiles; f++)); do printf '  t += f%02d();\n' $f; done
  echo '  printf("sum %ld\n", t);'
  echo '  return 0;'
  echo '}'
} > main.c
cat > Makefile <<EOF
CC = gcc
CFLAGS = -O1
OBJS =$objs main.o
all: check
%.o: %.c
	\$(CC) \$(CFLAGS) -c \$< -o \$@
f08.o: f08.c
	\$(CC) \$(CFLAGS) -c \$< -o \$@
	@echo READY
prog: \$(OBJS)
	\$(CC) -o \$@ \$(OBJS)
check: prog
	@while [ ! -e "\$\$DMTCP_TEST_GO" ]; do sleep 0.1; done
	./prog > result.txt
	@for o in \$(OBJS); do [ -s \$\$o ] || { echo "FAIL: \$\$o missing"; exit 1; }; done
	@if [ "\$\$(cat result.txt)" = "sum $expected" ]; then echo PASS; else echo "FAIL: prog printed '\$\$(cat result.txt)', expected 'sum $expected'"; exit 1; fi
EOF
exec make -j2
