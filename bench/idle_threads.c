/* Scale benchmark payload (bench/scale_bench.py): starts N idle threads
 * (argv[1], default 0) besides the main one, each sleeping in short
 * naps, prints READY and exits once the file named by $DMTCP_TEST_GO
 * exists. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int go_seen(void) {
  const char *go = getenv("DMTCP_TEST_GO");
  struct stat st;
  return go == NULL || stat(go, &st) == 0;
}

static void *nap(void *arg) {
  (void)arg;
  for (;;) {
    usleep(100000);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 0;
  for (int i = 0; i < n; ++i) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    if (pthread_create(&t, &a, nap, NULL) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  printf("READY\n");
  fflush(stdout);
  while (!go_seen()) {
    usleep(10000);
  }
  return 0;
}
