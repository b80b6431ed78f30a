/** Debian's Ruby and what the Ruby SDK (workers/ruby) needs of it, for the tests that run it. */

/** Debian's interpreter, which has ruby-ffi-rzmq and ruby-msgpack (a rbenv `ruby` on PATH may not). */
export const RUBY = '/usr/bin/ruby';
/** Interpreter arguments that fail when the SDK's packages are missing. */
export const RUBY_PROBE = ['-e', 'require "ffi-rzmq"; require "msgpack"'];
/** The Debian packages CI installs for it (.ci/run). */
export const RUBY_PACKAGES = 'ruby-ffi-rzmq and ruby-msgpack';
