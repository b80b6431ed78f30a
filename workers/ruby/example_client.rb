#!/usr/bin/ruby
# frozen_string_literal: true

# Call a bus service from Ruby and print the answer as one JSON line.
#
#   AGORA_BUS_URL=tcp://127.0.0.1:5555 /usr/bin/ruby workers/ruby/example_client.rb \
#       [--timeout-ms 5000] SERVICE METHOD [PARAM ...]
#
# Each PARAM is JSON ('"text"', 42, '{"a": [1, 2]}'). Prints {"result": …} and exits 0, or
# {"error": {"code", "message", "data"}} and exits 1; 2 on bad usage. Binary strings are
# printed as {"$bytes": hex}.

require_relative 'lib/agora_bus'

USAGE = 'usage: example_client.rb [--timeout-ms MS] SERVICE METHOD [JSON_PARAM ...]'

def jsonable(value)
  case value
  when Hash then value.to_h { |k, v| [k.to_s, jsonable(v)] }
  when Array then value.map { |v| jsonable(v) }
  when String then value.encoding == Encoding::BINARY ? { '$bytes' => value.unpack1('H*') } : value
  else value
  end
end

def parse_args(argv)
  args = argv.dup
  timeout_ms = 5000
  if args.first == '--timeout-ms'
    args.shift
    timeout_ms = Integer(args.shift.to_s, 10, exception: false)
  end
  return nil if timeout_ms.nil? || timeout_ms <= 0 || args.size < 2

  service, method, *params = args
  [service, method, params.map { |p| JSON.parse(p, quirks_mode: true) }, timeout_ms]
end

def main(argv)
  parsed = begin
    parse_args(argv)
  rescue JSON::ParserError => e
    warn("#{USAGE}\na parameter is not JSON: #{e.message}")
    return 2
  end
  if parsed.nil?
    warn(USAGE)
    return 2
  end
  service, method, params, timeout_ms = parsed
  client = AgoraBus::Client.new(timeout_ms: timeout_ms, caller: 'example_client.rb')
  begin
    answer = { 'result' => client.call(service, method, params) }
    code = 0
  rescue AgoraBus::AgoraError => e
    answer = { 'error' => { 'code' => e.code, 'message' => e.message, 'data' => e.data } }
    code = 1
  ensure
    client.close
  end
  $stdout.puts(JSON.generate(jsonable(answer)))
  code
end

exit(main(ARGV)) if $PROGRAM_NAME == __FILE__
