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
# Connections served at once; more wait in the listen backlog.
MAX_CLIENTS = 256

def body
  @body ||= JSON.generate({ id: ENV['NODE_ID'].to_s, name: ENV['NODE_NAME'].to_s, image: 'http',
                            size: ENV['NODE_SIZE'].to_s })
end

def respond(client, status, text)
  reason = { 200 => 'OK', 400 => 'Bad Request', 405 => 'Method Not Allowed' }.fetch(status)
  payload = status == 200 ? body : JSON.generate({ error: text })
  client.write("HTTP/1.1 #{status} #{reason}\r\nContent-Type: application/json\r\n" \
               "Content-Length: #{payload.bytesize}\r\nConnection: close\r\n\r\n#{payload}")
end

# Answer the request whose head is `head` (its first line names it).
def serve(client, head)
  line = head.lines.first.to_s.strip
  method, path = line.split(' ', 3)
  status = if path.nil? then 400
           elsif %w[GET HEAD].include?(method) then 200
           else 405
           end
  respond(client, status, "#{method} is not served")
  $stdout.puts("#{method} #{path} #{status}")
rescue IOError, SystemCallError
  nil # the client went away
end

# Read what `client` sent; true once it is done with (answered, gone, or its head too long).
def read_from(client, head)
  chunk = client.read_nonblock(4096, exception: false)
  return false if chunk == :wait_readable
  return true if chunk.nil? # closed before a whole head

  head << chunk
  return false unless head.include?("\r\n\r\n") || head.include?("\n\n")

  serve(client, head)
  true
rescue IOError, SystemCallError
  true
end

def monotonic
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

# One thread and one loop for every connection: the node holds to its size's memory (its data
# segment limit) however many clients connect, which a thread per connection would not.
def run(server)
  clients = {} # socket => [head so far, deadline]
  loop do
    watched = clients.size < MAX_CLIENTS ? [server, *clients.keys] : clients.keys
    (IO.select(watched, nil, nil, 1)&.first || []).each do |io|
      if io == server
        client = server.accept_nonblock(exception: false)
        clients[client] = [+'', monotonic + HEAD_TIMEOUT_S] unless client == :wait_readable
      elsif read_from(io, clients[io][0]) || clients[io][0].bytesize > MAX_HEAD_BYTES
        clients.delete(io).then { io.close }
      end
    end
    now = monotonic
    clients.select { |_, (_, deadline)| deadline < now }.each_key { |late| clients.delete(late).then { late.close } }
  end
end

def main
  $stdout.sync = true
  host = ENV.fetch('HOST', '127.0.0.1')
  port = Integer(ENV.fetch('PORT', ''), 10, exception: false)
  abort('http_node: PORT must be a port number') if port.nil? || !port.between?(1, 65_535)
  server = TCPServer.new(host, port)
  %w[TERM INT].each { |signal| Signal.trap(signal) { exit(0) } }
  $stdout.puts("listening on #{host}:#{port} as #{ENV['NODE_NAME']} (#{ENV['NODE_ID']})")
  run(server)
end

main if $PROGRAM_NAME == __FILE__
