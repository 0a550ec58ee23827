#include "harness.h"
int main(void) { return th_report("test_correlator"); }
