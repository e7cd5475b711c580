/* The host's level on a 2-vCPU machine: how long a cache line takes to go from one core to the other and back, and
 * how fast one core reads 1 MB the other just wrote. bench/compare.sh reads the round trip before each SharpGrad
 * run, and its table counts a row's runs per level:
 * ~75-135 ns when the two vCPUs sit close (the fast level), ~390-450 ns when they sit far apart (the slow level).
 *   gcc -O2 -pthread bench/pingpong.c -o /tmp/pingpong && /tmp/pingpong
 * Prints "roundtrip_ns N" then "read_other_core_written_1MB_us N  GB/s N". Threads pinned to CPUs 0 and 1. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
static _Alignas(64) atomic_int flag;
static int iters = 200000;
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void* other(void*a){pin(1);for(int i=0;i<iters;i++){while(atomic_load_explicit(&flag,memory_order_acquire)!=2*i+1);atomic_store_explicit(&flag,2*i+2,memory_order_release);}return 0;}
/* bandwidth of reading lines the other core wrote */
static float *buf; static size_t n = 256*1024; /* 1 MB */
static atomic_int phase;
static void* writer(void*a){pin(1);for(int r=0;r<50;r++){while(atomic_load(&phase)!=2*r);for(size_t i=0;i<n;i++)buf[i]=r+i;atomic_store(&phase,2*r+1);}return 0;}
int main(){
  pthread_t t; pin(0);
  pthread_create(&t,0,other,0);
  double t0=now();
  for(int i=0;i<iters;i++){atomic_store_explicit(&flag,2*i+1,memory_order_release);while(atomic_load_explicit(&flag,memory_order_acquire)!=2*i+2);}
  double t1=now(); pthread_join(t,0);
  printf("roundtrip_ns %.1f\n",(t1-t0)/iters*1e9);
  buf=aligned_alloc(64,n*4); memset(buf,0,n*4);
  pthread_create(&t,0,writer,0);
  double tot=0; volatile float s=0;
  for(int r=0;r<50;r++){while(atomic_load(&phase)!=2*r+1);double a=now();float acc=0;for(size_t i=0;i<n;i+=16)acc+=buf[i];s+=acc;tot+=now()-a;atomic_store(&phase,2*r+2);}
  pthread_join(t,0);
  printf("read_other_core_written_1MB_us %.1f  GB/s %.1f\n",tot/50*1e6, n*4/(tot/50)/1e9);
  return 0;}
