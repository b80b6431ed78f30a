#!/usr/bin/ruby
# frozen_string_literal: true

# The `http` image of the Ruby driver (docs/COMPUTE.md "Images and sizes"): a small HTTP
# server on HOST:PORT answering GET on any path with 200 and
# {"id": NODE_ID, "name": NODE_NAME, "image": "http", "size": NODE_SIZE}. One stdout line
# when it listens and one per request; exits 0 on SIGTERM. Only the standard library.

require 'json'
require 'socket'

# How long a client may take to send its request head.
HEAD_TIMEOUT_S = 5
MAX_HEAD_BYTES = 16_384

def body
  @body ||= JSON.generate({ id: ENV['NODE_ID'].to_s, name: ENV['NODE_NAME'].to_s, image: 'http',
                            size: ENV['NODE_SIZE'].to_s })
end

# The request line, once the head has been read; nil when the client sent none in time.
def read_head(client)
  head = +''
  until head.include?("\r\n\r\n") || head.include?("\n\n")
    return nil if head.bytesize > MAX_HEAD_BYTES || !client.wait_readable(HEAD_TIMEOUT_S)

    chunk = client.read_nonblock(4096, exception: false)
    return nil if chunk.nil?

    head << chunk if chunk.is_a?(String)
  end
  head.lines.first.to_s.strip
end

def respond(client, status, text)
  reason = { 200 => 'OK', 400 => 'Bad Request', 405 => 'Method Not Allowed' }.fetch(status)
  payload = status == 200 ? body : JSON.generate({ error: text })
  client.write("HTTP/1.1 #{status} #{reason}\r\nContent-Type: application/json\r\n" \
               "Content-Length: #{payload.bytesize}\r\nConnection: close\r\n\r\n#{payload}")
end

def serve(client)
  line = read_head(client)
  return if line.nil?

  method, path = line.split(' ', 3)
  status = if path.nil? then 400
           elsif %w[GET HEAD].include?(method) then 200
           else 405
           end
  respond(client, status, "#{method} is not served")
  $stdout.puts("#{method} #{path} #{status}")
rescue IOError, SystemCallError
  nil # the client went away
ensure
  client.close
end

def main
  $stdout.sync = true
  host = ENV.fetch('HOST', '127.0.0.1')
  port = Integer(ENV.fetch('PORT', ''), 10, exception: false)
  abort('http_node: PORT must be a port number') if port.nil? || !port.between?(1, 65_535)
  server = TCPServer.new(host, port)
  %w[TERM INT].each { |signal| Signal.trap(signal) { exit(0) } }
  $stdout.puts("listening on #{host}:#{port} as #{ENV['NODE_NAME']} (#{ENV['NODE_ID']})")
  loop { Thread.new(server.accept) { |client| serve(client) } }
end

main if $PROGRAM_NAME == __FILE__
