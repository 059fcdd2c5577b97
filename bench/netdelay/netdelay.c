/*-------------------------------------------------------------------------
 *
 * netdelay.c
 *	  A loopback TCP proxy that delays each direction by a fixed time: the
 *	  benchmark's stand-in for a network link (tc netem is not available on
 *	  the machines it runs on).  Not part of farmreg.
 *
 *	  netdelay LISTEN_PORT TARGET_PORT DELAY_US
 *
 * Listens on 127.0.0.1:LISTEN_PORT; for every connection it accepts it
 * connects to 127.0.0.1:TARGET_PORT and forwards both byte streams, in
 * order, each chunk DELAY_US microseconds after it arrived (so a request and
 * its answer cross two delays: a round trip of 2 x DELAY_US on top of
 * loopback's).  Each direction has a reader thread, which queues what it
 * reads with the kernel's arrival timestamp, and a writer thread, which
 * sleeps until a chunk is due and writes it: the delay does not grow with
 * the data in flight, and bytes are never reordered.  TCP_NODELAY on
 * every socket, so the kernel adds no waiting of its own.  An end of stream
 * is forwarded (shutdown) after the data before it; when both directions
 * have ended, the connection's sockets are closed.  Runs until killed.
 *
 * The extra loopback hop costs some microseconds of its own, so
 * scripts/bench.sh measures the round trip the proxy really adds (SELECT 1
 * through it against straight to the server), calibrates DELAY_US to make
 * it the wanted one, and reports it.
 *
 * Prints "netdelay listening on 127.0.0.1:PORT" once it accepts
 * connections.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define CHUNK 16384

typedef struct Chunk
{
	struct Chunk *next;
	struct timespec due;		/* CLOCK_REALTIME */
	size_t		len;			/* 0: end of stream */
	char		data[];
} Chunk;

/* A connection: its two sockets, closed when both directions are done. */
typedef struct Conn
{
	int			a;
	int			b;
	int			refs;			/* its two pipes */
	pthread_mutex_t lock;
} Conn;

/* One direction of one connection: from -> to. */
typedef struct Pipe
{
	Conn	   *conn;
	int			from;
	int			to;
	long		delay_ns;
	pthread_mutex_t lock;
	pthread_cond_t ready;
	Chunk	   *head;
	Chunk	   *tail;
	int			refs;			/* reader and writer */
} Pipe;

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L)
	{
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
	while (t->tv_nsec < 0)
	{
		t->tv_nsec += 1000000000L;
		t->tv_sec--;
	}
}

static void
conn_release(Conn *c)
{
	int			left;

	pthread_mutex_lock(&c->lock);
	left = --c->refs;
	pthread_mutex_unlock(&c->lock);
	if (left == 0)
	{
		close(c->a);
		close(c->b);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
}

static void
pipe_release(Pipe *p)
{
	int			left;

	pthread_mutex_lock(&p->lock);
	left = --p->refs;
	pthread_mutex_unlock(&p->lock);
	if (left == 0)
	{
		Conn	   *c = p->conn;

		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->ready);
		free(p);
		conn_release(c);
	}
}

/* c->due holds its arrival time: make it the time to pass it on */
static void
enqueue(Pipe *p, Chunk *c)
{
	add_ns(&c->due, p->delay_ns);
	c->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = c;
	else
		p->head = c;
	p->tail = c;
	pthread_cond_signal(&p->ready);
	pthread_mutex_unlock(&p->lock);
}

/*
 * read(), and when the bytes arrived: the kernel's receive timestamp
 * (SO_TIMESTAMPNS, CLOCK_REALTIME), so the time this thread took to wake up
 * counts as part of the delay instead of adding to it.
 */
static ssize_t
read_stamped(int fd, char *buf, size_t len, struct timespec *arrived)
{
	char		control[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t		n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	do
		n = recvmsg(fd, &msg, 0);
	while (n < 0 && errno == EINTR);
	clock_gettime(CLOCK_REALTIME, arrived);
	for (cm = CMSG_FIRSTHDR(&msg); n > 0 && cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS)
			memcpy(arrived, CMSG_DATA(cm), sizeof(struct timespec));
	return n;
}

static void *
reader(void *arg)
{
	Pipe	   *p = arg;

	for (;;)
	{
		Chunk	   *c = malloc(sizeof(Chunk) + CHUNK);
		ssize_t		n;

		if (c == NULL)
			die("malloc");
		n = read_stamped(p->from, c->data, CHUNK, &c->due);
		c->len = n > 0 ? (size_t) n : 0;
		enqueue(p, c);
		if (n <= 0)
			break;
	}
	pipe_release(p);
	return NULL;
}

static long
diff_ns(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec - b->tv_sec) * 1000000000L + (a->tv_nsec - b->tv_nsec);
}

/*
 * Sleep until *due.  A wake-up comes some tens of microseconds late on a
 * busy (virtual) machine, so ask for it early by a running estimate of that
 * lateness: on average the bytes leave on time, without spinning on a core
 * the measured server needs.
 */
static void
wake_on_time(const struct timespec *due, long *early_ns, long delay_ns)
{
	struct timespec target = *due;
	struct timespec now;
	long		late;

	add_ns(&target, -*early_ns);
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &target, NULL) == EINTR)
		;
	clock_gettime(CLOCK_REALTIME, &now);
	late = diff_ns(&now, due);
	*early_ns += late / 8;
	if (*early_ns < 0)
		*early_ns = 0;
	if (*early_ns > delay_ns / 2)
		*early_ns = delay_ns / 2;
}

static void *
writer(void *arg)
{
	Pipe	   *p = arg;
	int			broken = 0;
	long		early_ns = 0;	/* how much sooner to ask to be woken */

	for (;;)
	{
		Chunk	   *c;
		size_t		off = 0;
		int			eof;

		pthread_mutex_lock(&p->lock);
		while (p->head == NULL)
			pthread_cond_wait(&p->ready, &p->lock);
		c = p->head;
		p->head = c->next;
		if (p->head == NULL)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);

		wake_on_time(&c->due, &early_ns, p->delay_ns);
		eof = (c->len == 0);
		while (!broken && off < c->len)
		{
			ssize_t		n = write(p->to, c->data + off, c->len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
			{
				/* the other side is gone: stop its reader too */
				broken = 1;
				shutdown(p->from, SHUT_RD);
				break;
			}
			off += (size_t) n;
		}
		free(c);
		if (eof)
			break;
	}
	shutdown(p->to, SHUT_WR);
	pipe_release(p);
	return NULL;
}

static void
start_pipe(Conn *conn, int from, int to, long delay_ns)
{
	Pipe	   *p = calloc(1, sizeof(Pipe));
	pthread_t	t;
	pthread_attr_t attr;

	if (p == NULL)
		die("calloc");
	p->conn = conn;
	p->from = from;
	p->to = to;
	p->delay_ns = delay_ns;
	p->refs = 2;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->ready, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, reader, p) != 0 ||
		pthread_create(&t, &attr, writer, p) != 0)
		die("pthread_create");
	pthread_attr_destroy(&attr);
}

/* no Nagle delay, and receive timestamps for read_stamped() */
static void
prepare_socket(int fd)
{
	int			one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
}

int
main(int argc, char **argv)
{
	int			lport,
				tport,
				lfd,
				one = 1;
	long		delay_ns;
	struct sockaddr_in addr;

	if (argc != 4)
	{
		fprintf(stderr, "usage: netdelay LISTEN_PORT TARGET_PORT DELAY_US\n");
		return 2;
	}
	lport = atoi(argv[1]);
	tport = atoi(argv[2]);
	delay_ns = atol(argv[3]) * 1000L;
	signal(SIGPIPE, SIG_IGN);
	/* wake up when asked to: the default 50 us slack is a fifth of a delay */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short) lport);
	if (bind(lfd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
		die("bind");
	if (listen(lfd, 64) < 0)
		die("listen");
	printf("netdelay listening on 127.0.0.1:%d\n", lport);
	fflush(stdout);

	for (;;)
	{
		int			cfd = accept(lfd, NULL, NULL);
		int			sfd;
		struct sockaddr_in target;
		Conn	   *conn;

		if (cfd < 0)
		{
			if (errno == EINTR)
				continue;
			die("accept");
		}
		sfd = socket(AF_INET, SOCK_STREAM, 0);
		if (sfd < 0)
			die("socket");
		memset(&target, 0, sizeof(target));
		target.sin_family = AF_INET;
		target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		target.sin_port = htons((unsigned short) tport);
		if (connect(sfd, (struct sockaddr *) &target, sizeof(target)) < 0)
		{
			perror("connect");
			close(cfd);
			close(sfd);
			continue;
		}
		prepare_socket(cfd);
		prepare_socket(sfd);
		conn = calloc(1, sizeof(Conn));
		if (conn == NULL)
			die("calloc");
		conn->a = cfd;
		conn->b = sfd;
		conn->refs = 2;
		pthread_mutex_init(&conn->lock, NULL);
		start_pipe(conn, cfd, sfd, delay_ns);
		start_pipe(conn, sfd, cfd, delay_ns);
	}
}
