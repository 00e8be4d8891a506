# sanitizers.sh -- sourced by tests/run.sh and by every test script: the
# AddressSanitizer / UndefinedBehaviorSanitizer builds stop at the first
# error and exit with codes of their own, never with nightjar's 1 (which
# means "nothing could be read"), so an error after the output was written
# still fails the test. Later options win: whatever the caller set stays,
# these four are forced.
#   86  AddressSanitizer (memory error, or a leak found by LeakSanitizer)
#   87  UndefinedBehaviorSanitizer
NJ_ASAN_EXIT=86
NJ_UBSAN_EXIT=87
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=$NJ_ASAN_EXIT"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1:exitcode=$NJ_UBSAN_EXIT"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}exitcode=$NJ_ASAN_EXIT"
export NJ_ASAN_EXIT NJ_UBSAN_EXIT
